"""Live data: record an exchange's WebSocket streams, replay a capture as the exchange would, and
run a Backtrader feed on the stream as it happens, with the bars of the file path.

- :mod:`data.live.protocol`: what the three share of the exchange's protocol (addresses, stream
  names, the combined-stream URL and ``SUBSCRIBE`` messages, reconnection delays, gap notes);
- :mod:`data.live.record`: the recorder (``python -m data.record``);
- :mod:`data.live.replay`: the replay server (``python -m data.replay``);
- :mod:`data.live.client`: the connection of a live feed (a thread that receives, reconnects and
  resubscribes);
- :mod:`data.live.bars`: the messages -> ticks, quotes and bars, batch by batch, with
  :class:`data.bars.stream.BarStream` (duplicates dropped by trade id, gaps reported);
- :mod:`data.live.feed`: :class:`LiveOrderFlowFeed`, the Backtrader feed (``data.LiveOrderFlowFeed``).

They need the ``websockets`` package (``pip install orderflow-bt[live]``).
"""
