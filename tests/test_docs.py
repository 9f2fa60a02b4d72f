"""The README and docs/: every relative link resolves (file and heading), every marked block sits in
the file the generator writes it to, the README stays short, and its recipes run as written."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, need_sample
from tools.readme import BLOCK_FILES, block_file

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
MARKER = re.compile(r"<!-- ([\w-]+):(start|end) -->")


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code (where brackets are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of ``path``'s headings (a repeated heading gets ``-1``, ``-2`` ... as on GitHub)."""
    seen: dict[str, int] = {}
    out = set()
    for _, title in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(title)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def test_slug_is_githubs():
    assert slug("Running the project's commands") == "running-the-projects-commands"
    assert slug("How to add a reader, a bar field, an indicator") == "how-to-add-a-reader-a-bar-field-an-indicator"
    assert slug("Which imbalance can you trust?") == "which-imbalance-can-you-trust"
    assert slug("Months of data: the tick store") == "months-of-data-the-tick-store"
    assert slug("Strategies and `--compare`") == "strategies-and---compare"


def test_readme_is_under_400_lines():
    assert len(README.read_text().splitlines()) < 400


def test_there_are_docs_and_the_readme_links_each():
    assert len(DOCS) >= 8
    linked = {Path(target.split("#")[0]).name for target in LINK.findall(prose(README.read_text()))}
    assert [d.name for d in DOCS if d.name not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path):
    broken = []
    links = LINK.findall(prose(page.read_text()))
    assert links, f"{page.name} has no links"
    for target in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no {file}")
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert broken == []


def test_every_marked_block_sits_in_the_file_the_generator_names():
    found: dict[str, list[str]] = {}
    for page in PAGES:
        text = INLINE_CODE.sub("", page.read_text())  # a marker quoted in the prose is not one
        for name, edge in MARKER.findall(text):
            if edge == "start":
                found.setdefault(name, []).append(str(page.relative_to(REPO)))
                assert text.count(f"<!-- {name}:end -->") == 1, f"{name} in {page.name}"
    assert found == {name: [file] for name, file in BLOCK_FILES.items()}


def test_the_docs_speak_to_a_user():
    words = re.compile(r"\bissues?\b|\bthis session\b|\bthe lead\b", re.I)
    assert [f"{page.name}: {m.group()}" for page in PAGES for m in words.finditer(page.read_text())] == []


# --- the README's recipes, run as written ------------------------------------------------------------------


def recipe(name: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The code of the README's ``recipe-NAME`` block, executed as a module (in ``sys.modules`` for
    the test: Backtrader looks its classes' modules up there)."""
    text = block_file(f"recipe-{name}").read_text()
    block = text.split(f"<!-- recipe-{name}:start -->", 1)[1].split(f"<!-- recipe-{name}:end -->", 1)[0]
    code = block.split("```python", 1)[1].rsplit("```", 1)[0]
    module = types.ModuleType(f"readme_recipe_{name}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, f"README.md recipe-{name}", "exec"), module.__dict__)
    return module


def test_reader_recipe_registers_a_format_load_ticks_reads(tmp_path, monkeypatch):
    from data import load_ticks
    from data.reading.loader import FORMATS

    recipe("reader", monkeypatch)
    try:
        path = tmp_path / "trades.pipe"
        path.write_text("2024-04-15T13:30:00.100Z|5000.25|2|buy\n2024-04-15T13:30:00.200Z|5000.00|1|sell\n")
        ticks = load_ticks(path)
        assert ticks.attrs["load_report"]["format"] == "pipe"
        assert ticks["price"].tolist() == [5000.25, 5000.0]
        assert ticks["size"].tolist() == [2.0, 1.0]
        assert ticks["side"].tolist() == [1, -1]
        assert [str(t) for t in ticks["timestamp"]] == ["2024-04-15 13:30:00.100000+00:00",
                                                        "2024-04-15 13:30:00.200000+00:00"]
    finally:
        FORMATS.pop("pipe", None)


def test_indicator_recipe_gives_delta_over_volume_in_both_run_modes(monkeypatch):
    need_sample()
    import backtrader as bt

    from data import OrderFlowFeed, load_ticks, make_bars

    ratio_class = recipe("indicator", monkeypatch).DeltaRatio
    ticks = load_ticks(REPO / "data" / "sample" / "sample_ticks.parquet")
    ticks = ticks.iloc[:20_000]
    bars = make_bars(ticks, "5min", depth=False, footprint=False)

    class Keep(bt.Strategy):
        def __init__(self):
            self.raw = ratio_class(self.data)
            self.smooth = ratio_class(self.data, period=3)

    runs = []
    for runonce in (True, False):
        cerebro = bt.Cerebro(runonce=runonce, stdstats=False)
        cerebro.adddata(OrderFlowFeed.from_bars(bars, "5min"))
        cerebro.addstrategy(Keep)
        strategy = cerebro.run()[0]
        runs.append((np.array(strategy.raw.ratio.array), np.array(strategy.smooth.ratio.array)))
    expected = (bars["delta"] / bars["volume"]).to_numpy()
    np.testing.assert_allclose(runs[0][0], expected, rtol=1e-12)
    np.testing.assert_allclose(runs[0][1][2:], (expected[2:] + expected[1:-1] + expected[:-2]) / 3, rtol=1e-9)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_strategy_and_report_recipes_run_on_the_engine(tmp_path, monkeypatch):
    need_sample()
    from research import RunConfig, run

    flip = recipe("strategy", monkeypatch).DeltaFlip
    result = run(RunConfig(strategy=flip, bars="5min", params={"threshold": 200}))
    trades = result.trades
    assert len(trades) > 10
    assert set(trades["direction"]) == {"long", "short"}
    path = recipe("report", monkeypatch).pnl_histogram(result, tmp_path / "pnl.png")
    assert path == tmp_path / "pnl.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
