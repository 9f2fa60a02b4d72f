"""Reports: what a backtest, a sweep or a walk-forward shows a person, rendered from finished results.

Text tables and summaries (``reports.output``, ``reports.sweep``), headless PNG plots
(``reports.plots``, ``reports.footprint_chart``) and interactive HTML pages (``reports.html``,
``reports.html_footprint``, ``reports.html_sweep``). The figures themselves (metrics, trade
statistics) are computed by ``research.metrics`` and ``research.trades``. Nothing here imports
the command line.
"""
