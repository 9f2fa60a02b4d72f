"""Strategies for the sweep and walk-forward tests (not collected: no test_ prefix).

``DieOnce`` kills its own worker process (``os._exit``) the first time it runs with
``period == die_at``, keyed by a marker file, to test that a sweep survives a dead worker.
``Alternate`` buys one unit when flat and closes when long, every bar: its trades can be
listed on paper.
"""
from __future__ import annotations

import os
from pathlib import Path

import backtrader as bt


class DieOnce(bt.Strategy):
    """Long one unit while the close is above its SMA(period); dies once at ``period == die_at``."""

    params = (("period", 5), ("die_at", -1), ("marker", ""))

    def __init__(self) -> None:
        self.sma = bt.indicators.SMA(self.data.close, period=self.p.period)

    def next(self) -> None:
        if len(self) == 2 * self.p.period and self.p.period == self.p.die_at and self.p.marker:
            marker = Path(self.p.marker)
            if not marker.exists():
                marker.write_text("died")
                os._exit(3)  # the worker process dies mid-run, mid-sweep
        if not self.position and self.data.close[0] > self.sma[0]:
            self.buy(size=1)
        elif self.position and self.data.close[0] < self.sma[0]:
            self.close()


class Alternate(bt.Strategy):
    """Buy 1 when flat, close when long: an order on every bar."""

    def next(self) -> None:
        if self.position:
            self.close()
        else:
            self.buy(size=1)
