"""Who was aggressive: trade-side codes and the classifiers that infer unknown sides.

- :mod:`~data.sides.codes`: side codes of every source (+1 buy, -1 sell, 0 unknown);
- :mod:`~data.sides.classify`: tick, reverse tick, quote, Lee-Ready, EMO, CLNV, bulk volume classification.

Their measured accuracy is the table of ``make accuracy`` (``python -m tools.accuracy``).
"""
