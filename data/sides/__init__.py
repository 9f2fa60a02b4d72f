"""Who was aggressive: trade-side codes, the classifiers that infer unknown sides, and their measured accuracy.

- :mod:`~data.sides.codes`: side codes of every source (+1 buy, -1 sell, 0 unknown);
- :mod:`~data.sides.classify`: tick, reverse tick, quote, Lee-Ready, EMO, CLNV, bulk volume classification;
- :mod:`~data.sides.accuracy`: the accuracy table of ``make accuracy``.
"""
