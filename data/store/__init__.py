"""Months of ticks on disk: the partitioned Parquet tick store and the bar cache.

- :mod:`~data.store.dataset`: the Hive-partitioned store (``python -m data.store import|info``);
- :mod:`~data.store.cache`: bars cached as Parquet, keyed by the data and every setting (``cached_bars``).
"""
