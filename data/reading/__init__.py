"""Reading ticks and quotes as vendors and platforms write them.

- :mod:`~data.reading.loader`: ``load_ticks``, the canonical tick schema, validation and the load report, the format registry;
- :mod:`~data.reading.formats`: Binance dumps, Databento DBN, ccxt, NinjaTrader;
- :mod:`~data.reading.readers`: Sierra Chart, Databento MBO/MBP-10, LOBSTER, Tardis, Binance streams;
- :mod:`~data.reading.quotes`: ``load_quotes`` and ``join_quotes``;
- :mod:`~data.reading.sources`: many files, folders, globs and stores as one time-ordered source (``scan_ticks``);
- :mod:`~data.reading.progress`: progress bars on standard error.
"""
