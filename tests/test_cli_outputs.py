"""What the command line prints and leaves in --out: the strategy list, counts in words, the files a run owns."""
from __future__ import annotations

from tests.test_run_backtest import run_cli


def test_list_strategies_shows_the_sizing_a_run_uses():
    code, out, err = run_cli(["--list-strategies"])
    assert code == 0 and err == ""
    blocks = dict(line.split(": ", 1) for line in out.splitlines() if line and not line.startswith((" ", "Without")))
    assert set(blocks) >= {"cvd_trend", "delta_divergence", "stacked_imbalance", "ofi_momentum"}
    params = out.split("cvd_trend:", 1)[1].splitlines()[1]
    assert "stake=1, pct_equity=100.0," in params  # what `Strategy cvd_trend(stake=1, pct_equity=100.0, ...)` runs
    assert "pct_equity=None" not in out.split("Without --size")[0]
    assert "Without --size: pct_equity=100.0 (100% of equity); with --instrument: stake=1, pct_equity=None" in out
