"""Order-flow bars and their measures, vectorised over ticks.

- :mod:`~data.bars.spec`: bar specs (``1min``, ``500t``, ``1000v``) and which ticks make each bar;
- :mod:`~data.bars.make`: ``make_bars``, the core lines (OHLCV, delta, delta high/low, VWAP, imbalance);
- :mod:`~data.bars.stream`: the same bars from batches of ticks, in bounded memory;
- :mod:`~data.bars.flow`: signed volume of each tick (the one place delta is computed);
- :mod:`~data.bars.depth`: OFI, time-weighted and persistence-filtered imbalance, depth from quote streams;
- :mod:`~data.bars.footprint`, :mod:`~data.bars.imbalance`, :mod:`~data.bars.orders`, :mod:`~data.bars.large`:
  footprints, imbalance rules of the platforms, aggressor orders, large trades and orders;
- :mod:`~data.bars.blocks`: cache-sized blocks of whole bars;
- :mod:`~data.bars.metrics`: the original per-tick metrics (``order_flow_metrics``).
"""
