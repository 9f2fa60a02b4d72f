"""Fills against the ticks and the book: orders with latency and a place in the queue.

    from execution import simulate
    fills = simulate(orders, "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip", queue="fifo", latency="2ms")

:func:`simulate` replays a source's trades and book (:mod:`execution.replay`) and executes
orders against them; it needs no Backtrader. The rules:

- **Arrival.** An order sent at ``time`` arrives at ``time + latency`` (``latency``: None = 0,
  a duration such as ``"2ms"``, or ``"feed"``: the delay between the exchange's time and the
  feed's receive time of the event in force when it is sent, ``ts_recv - ts_event``, which
  only Databento files carry in a usable form; a Binance capture's receive times come from
  the recorder's clock, about 1.3 s off the exchange's, LOBSTER and Tardis exports keep none
  beside the book, so ``"feed"`` is an error there; an ``arrival`` column gives it per order
  instead). The order sees the book in force at its arrival (after every event stamped at or
  before it) and only events after it. A cancel
  (``cancel_time``) takes effect after the same latency: events up to its arrival can still
  fill the order (one that arrives before the order leaves it unfilled).
- **Market order.** Takes the best opposite level in force at arrival up to its size, then
  the deeper levels where the source has them (Databento MBO and order-event books: all of
  them; LOBSTER, MBP-10 and quote streams: the levels they carry). What is left waits for
  the next book updates that show prices it has not taken yet (liquidity inside the range of
  prices it took is never taken twice, since the replayed book still shows it). On a source
  with no quotes (trades only) it fills whole at the first trade after arrival, ``slippage_ticks``
  ticks worse.
- **Limit order.** Marketable at arrival: executed as a market order capped at its price; the
  rest rests at its price. Resting, it fills when trades at its price go past the volume ahead
  of it (``ahead``, reported at arrival). Trades count at the price level of the resting side
  they hit (a sell aggressor hits bids; a trade of unknown side counts on both sides). A trade
  on the order's side that prints through its price (a sell below a buy's price, a buy above
  a sell's) means the level was swept: nothing is ahead any more, and that trade and every
  later one at or through the price fill it at its price, each up to its own size (a fill
  never uses volume that did not trade, so a small print through does not fill a large order
  whole). The queue model (``queue=``):

  - ``fifo`` (sources with order ids: Databento MBO, LOBSTER, order events): exact price-time
    priority. Ahead are the orders resting at the price at arrival; only their fills, shrinks
    and cancels move the order up, never those of orders that came later. It fills from the
    first execution at its price of an order that joined the queue after it (or of hidden
    volume), which under price-time priority happens exactly when every order ahead has gone.
    An order's place is its add (a Databento modify that changes the price or raises the size
    takes a new place; one that only reduces it keeps it). LOBSTER files keep only the messages
    that touch the levels they record: an order first seen at its execution or cancel took its
    place before the first order added with a higher id (ids rise with submission);
  - ``risk_averse`` (any book): ahead = the displayed size at arrival; it falls only by trades
    at the price, and is capped at the displayed size when the level shrinks below it. Where
    the source cannot see the level at arrival (beyond the depth it carries), everything shown
    there when it first becomes visible counts as ahead;
  - ``prob:N`` (any book): as ``risk_averse``, plus each shrink of the level that trades do not
    explain is taken from ahead of the order with probability ``f(ahead) / (f(ahead) + f(behind))``,
    ``f(x) = x**N``, applied as its expected value (deterministic).
  - ``through`` (any source, and the only model for a source without quotes): nothing fills
    at the order's own price; only trades through it do, as above. On a trades-only source a
    limit order is marketable when the first trade after its arrival is at or better than its
    price: it fills whole there (``slippage_ticks`` worse, never beyond its price).
- **Stop order.** Triggers on the first trade at or through its price after arrival (at or
  above a buy stop, at or below a sell stop), then executes as a market order against the
  book after that trade (Databento MBO: after the exchange message that holds it), its fills
  stamped with the trade's time; on a trades-only source, at the next trade. A
  **stop_limit** order triggers the same way, then acts as a limit order at its ``limit``
  price from that moment (marketable: takes the book up to it; else rests in the queue).
- **Trailing stop** (``trail``). Its stop follows the best trade price since arrival and never
  moves back: a sell's stop is the highest trade since arrival minus ``trail_amount`` (or times
  ``1 - trail_percent``, a fraction: 0.01 is 1 %), a buy's the lowest plus the amount (or times
  ``1 + trail_percent``); ``price`` is the first stop (NaN: none until the first trade). It
  triggers on the first trade at or through the stop in force before it, then executes as a
  stop order does. A **trail_limit** order then acts as a limit order at the stop plus
  ``limit_offset``: its limit follows the stop at a fixed distance, as Backtrader's
  ``StopTrailLimit`` does.
- Partial fills are separate rows. **Our orders never change the replayed book**: the book and
  the trades are what happened without them, so an order that takes a level does not remove
  it for later events, and a resting order does not take volume from the orders behind it.

A source without the data a rule needs is an :class:`data.OrderFlowError`, never a quieter
rule: limit orders on trades only (unless ``queue="through"``), ``fifo`` without order ids,
``latency="feed"`` without receive times.

A source too large to hold is read by windows: ``simulate(orders, FileTape("ticks/", options))``
(:mod:`execution.tape`) gives the same fills while holding only the days its open orders span.
"""
from execution.replay import Replay, replay
from execution.simulate import FILL_COLUMNS, ORDER_TYPES, QUEUE_MODELS, parse_latency, parse_queue, simulate
from execution.tape import FileTape, Tape

__all__ = ["simulate", "replay", "Replay", "Tape", "FileTape", "parse_queue", "parse_latency", "FILL_COLUMNS", "ORDER_TYPES",
           "QUEUE_MODELS"]
