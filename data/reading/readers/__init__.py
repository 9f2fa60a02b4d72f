"""Readers of vendor and exchange books and trade stores, registered with the loader.

Importing this package registers each format with :data:`data.reading.loader.FORMATS` (so
``load_ticks`` detects and reads it) and, where the format has quotes, a quote reader
with :data:`data.reading.quotes.QUOTE_READERS` (so ``load_quotes`` does too):

=====================  ===============================================  =================
format                 what                                             module
=====================  ===============================================  =================
``databento_mbo``      Databento MBO: trades + book rebuilt from orders  databento_mbo
``databento_mbp10``    Databento MBP-10: trades + 10-level book         databento_mbo
``sierra_scid``        Sierra Chart intraday tick file (``.scid``)      sierra
``lobster``            LOBSTER message + orderbook (zip or CSV pair)    lobster
``tardis_trades``      Tardis.dev trades CSV                            tardis
``tardis_quotes``      Tardis.dev quotes CSV (quotes only)              tardis
``tardis_book_snapshot``  Tardis.dev book_snapshot_k (k levels)         tardis
``tardis_incremental_book_L2``  Tardis.dev L2 updates (book rebuilt)    tardis
``binance_bookticker`` Binance bookTicker CSV dump (quotes only)        binance_stream
``binance_stream``     Binance WebSocket capture (trades + bookTicker)  binance_stream
=====================  ===============================================  =================

Detection: each format is claimed from the file's head (DBN metadata schema, ``SCID``
magic, LOBSTER file names, Tardis and bookTicker headers, the capture's line shape);
``format=NAME`` names one. Quote-only formats refuse ``load_ticks`` with an error that
says to use ``load_quotes``. The quote stream's columns (and book levels) are described
in :mod:`data.reading.quotes`.
"""
from data.reading.readers import binance_stream, databento_mbo, lobster, sierra, tardis  # noqa: F401

__all__ = ["binance_stream", "databento_mbo", "lobster", "sierra", "tardis"]
