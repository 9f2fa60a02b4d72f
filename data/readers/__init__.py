"""Readers of vendor and exchange books and trade stores, registered with the loader.

Importing this package registers each format with :data:`data.loader.FORMATS` (so
``load_ticks`` detects and reads it) and, where the format has quotes, a quote reader
with :data:`data.quotes.QUOTE_READERS` (so ``load_quotes`` does too):

=====================  ===============================================  =================
format                 what                                             module
=====================  ===============================================  =================
``databento_mbo``      Databento MBO: trades + book rebuilt from orders  databento_mbo
``databento_mbp10``    Databento MBP-10: trades + 10-level book         databento_mbo
=====================  ===============================================  =================
"""
from . import binance_stream, databento_mbo, lobster, sierra, tardis  # noqa: F401

__all__ = ["binance_stream", "databento_mbo", "lobster", "sierra", "tardis"]
