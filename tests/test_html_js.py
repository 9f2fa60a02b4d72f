"""The pages' scripts (reports/js/*.js) against Python: each function runs in headless Chromium on
hundreds of inputs, edge cases included, and must give exactly what its Python reference gives
(the library's own function where there is one, else a plain reference written here).

Skipped with a reason where selenium, chromium or chromedriver is absent (`make test-browser`)."""
from __future__ import annotations

import json
import math
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[html]')")

from reports import html, html_parts  # noqa: E402
from reports.html_footprint import TEXT_MIN_PX  # noqa: E402
from tests.html_fixtures import need_browser, open_page, start_browser  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
JS_FILES = ("time_axis", "thin", "sweep_select", "footprint_view")


@pytest.fixture(scope="module")
def driver():
    need_browser()
    d = start_browser(800, 600)
    d.get("about:blank")
    yield d
    d.quit()


def _encode(value: Any) -> Any:
    """JSON has no NaN or infinities: they travel as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return _encode(value.tolist())
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return _encode(value.item())
    return value


def _decode(value: Any) -> Any:
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value.lower().replace("infinity", "inf"))
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


_RUN = """
const lib = new Function(arguments[0])();
const revive = (k, v) => v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v;
const cases = JSON.parse(arguments[1], revive);
const call = new Function("lib", "c", "return " + arguments[2] + ";");
const out = cases.map((c) => call(lib, c));
return JSON.stringify(out, (k, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v);
"""


def run_js(driver: Any, name: str, functions: tuple[str, ...], expression: str, cases: list[dict]) -> list[Any]:
    """``expression`` (using ``lib.<function>`` of reports/js/<name>.js and the case ``c``) evaluated in
    the browser for every case; NaN and infinities come back as floats."""
    code = html_parts.js_source(name) + "\nreturn {" + ", ".join(functions) + "};"
    out = driver.execute_script(_RUN, code, json.dumps(_encode(cases)), expression)
    return _decode(json.loads(out))


def js_round(x: float) -> int:
    """JavaScript's Math.round: halves go up."""
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, exactly otherwise."""
    if isinstance(a, float) and isinstance(b, (int, float)) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def assert_all_same(got: list, want: list, cases: list) -> None:
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if not same(g, w)]
    assert len(got) == len(want)
    assert not bad, f"{len(bad)} of {len(cases)} differ; first: case {cases[bad[0]]!r}\nJS {got[bad[0]]!r}\nPython {want[bad[0]]!r}"


# --------------------------------------------------------------------------- shipped as package data


def test_every_script_is_package_data_and_is_what_the_pages_run():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11 and later")
    on_disk = sorted(p.stem for p in (ROOT / "reports" / "js").glob("*.js"))
    assert on_disk == sorted(JS_FILES)
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["reports"]
    for name in JS_FILES:
        assert any(fnmatch(f"js/{name}.js", g) for g in globs), name
        assert html_parts.js_source(name) == resources.files("reports").joinpath("js", f"{name}.js").read_text("utf-8")
    code = html_parts.js_code("thin", "thin", ("full", "xr"))
    assert code.startswith(html_parts.js_source("thin")) and code.endswith("\nreturn thin({full, xr});\n")


# --------------------------------------------------------------------------- the time axis (time_axis.js)


def time_ticks_reference(t: list[float], start: float, end: float, steps: list[int], max_ticks: int) -> list[int]:
    """The ticker's rule, plainly: the first bar of each interval of the smallest step giving 2 to
    max_ticks ticks in the visible range (its first bar only if it starts an interval), else evenly
    spaced bars; ticks closer than 0.45 x the even spacing to the previous kept one dropped."""
    n = len(t)
    lo, hi = max(0, math.ceil(start)), min(n - 1, math.floor(end))
    if n == 0 or hi < lo:
        return []
    best: list[int] = []
    for step in steps:
        buckets = [math.floor(v / step) for v in t]
        pos = [i for i in range(lo, hi + 1) if i == 0 or buckets[i - 1] != buckets[i]]
        # the scan stops once it holds more than max_ticks positions
        best = pos[:max_ticks + 1]
        if 2 <= len(pos) <= max_ticks or (len(pos) <= max_ticks and step == steps[-1]):
            break
    if len(best) < 2:
        k = max(1, js_round((hi - lo) / 6))
        best = list(range(lo, hi + 1, k))
    kept: list[int] = []
    gap = 0.45 * (hi - lo + 1) / max_ticks
    for p in best:
        if not kept or p - kept[-1] >= gap:
            kept.append(p)
    return kept


def _day(ms: float) -> str:
    return pd.Timestamp(int(ms), unit="ms").strftime("%a %d %b")


def tick_label_reference(t: list[float], ticks: list[int], index: int, tick: float) -> str:
    """The formatter's rule, plainly (pandas' strftime for the texts)."""
    i = js_round(tick)
    if i < 0 or i >= len(t):
        return ""
    when = pd.Timestamp(int(t[i]), unit="ms")
    first, last = js_round(ticks[0]), js_round(ticks[-1])
    spacing = (t[min(last, len(t) - 1)] - t[max(first, 0)]) / (len(ticks) - 1) if len(ticks) > 1 else 0
    if spacing >= 86_400_000:
        return _day(t[i]) + (f" {when.year}" if spacing >= 30 * 86_400_000 else "")
    clock = when.strftime("%H:%M")
    if 0 < spacing < 60_000 or (when.second != 0 and spacing < 300_000):
        clock += when.strftime(":%S")
    j = js_round(ticks[index - 1]) if index > 0 else -1
    if j < 0 or j >= len(t) or _day(t[j]) != _day(t[i]):
        return f"{clock}\n{_day(t[i])}"
    return clock


def _bar_times(rng: np.random.Generator, n: int) -> list[float]:
    """n bar times (ms): regular bars of a random size, bursts of tick bars, gaps of nights and weekends."""
    start = pd.Timestamp("2024-01-01").value // 1_000_000 + int(rng.integers(0, 400)) * 86_400_000
    kind = rng.integers(0, 4)
    if kind == 0:  # time bars of 1 s ... 1 day
        step = int(rng.choice([1_000, 5_000, 60_000, 300_000, 3_600_000, 86_400_000]))
        gaps = np.full(n, step)
    elif kind == 1:  # bursty tick bars: many in one second, then quiet
        gaps = rng.choice([0, 1, 7, 250, 1_000, 45_000, 600_000], size=n)
    elif kind == 2:  # minute bars with nights and weekends missing
        gaps = np.where(rng.random(n) < 0.02, rng.choice([3_600_000, 64 * 3_600_000], size=n), 60_000)
    else:  # anything from a millisecond to a month
        gaps = rng.integers(1, 40 * 86_400_000, size=n)
    return (start + np.cumsum(gaps)).astype(np.float64).tolist()


def ticker_cases() -> list[dict]:
    rng = np.random.default_rng(7)
    steps = [int(s) for s in html_parts._STEPS_MS]
    cases: list[dict] = []
    for n in (0, 1, 2, 3, 13, 14, 50):  # edge sizes, whole range and beyond it
        t = _bar_times(rng, n)
        cases += [{"t": t, "start": s, "end": e, "steps": steps, "max_ticks": 12}
                  for s, e in ((-1, n), (0, n - 1), (-0.6, n - 0.4), (n, n + 5), (3.2, 2.7), (-10, -2))]
    # one-second bars under a one-second step only: more ticks than max_ticks at the last step, so the
    # first max_ticks + 1 bars, kept when exactly 0.45 x 20 / 9 = 1 (or / 3 = 3) bars apart
    t = [1_700_000_000_000.0 + 1000 * i for i in range(20)]
    cases += [{"t": t, "start": 0, "end": 19, "steps": [1000], "max_ticks": m} for m in (9, 3)]
    for _ in range(400):
        n = int(rng.integers(1, 400))
        t = _bar_times(rng, n)
        a, b = sorted(rng.uniform(-5, n + 5, size=2))
        if rng.random() < 0.2:
            a, b = round(a), round(b)
        few = rng.random() < 0.25  # one or two steps: < 2 round times in view, or more than max_ticks at the last
        chosen = sorted(rng.choice(steps, size=2, replace=False).tolist()) if few else steps
        cases.append({"t": t, "start": float(a), "end": float(b), "steps": chosen, "max_ticks": int(rng.choice([2, 5, 12]))})
    return cases


def test_time_ticks_match_the_python_rule(driver):
    cases = ticker_cases()
    got = run_js(driver, "time_axis", ("time_ticks",), "lib.time_ticks(c.t, c.start, c.end, c.steps, c.max_ticks)", cases)
    want = [time_ticks_reference(c["t"], c["start"], c["end"], c["steps"], c["max_ticks"]) for c in cases]
    assert_all_same(got, want, cases)
    # the cases reach every branch: no tick, one evenly spaced fallback, thinned bursts, many ticks
    assert [] in want and any(len(w) >= 8 for w in want)
    assert want[42:44] == [list(range(10)), [0, 3]]


def test_tick_labels_match_the_python_rule(driver):
    cases = []
    for c in ticker_cases():
        ticks = time_ticks_reference(c["t"], c["start"], c["end"], c["steps"], c["max_ticks"])
        cases += [{"t": c["t"], "ticks": ticks, "index": k, "tick": p} for k, p in enumerate(ticks)]
    t = [float(pd.Timestamp(x).value // 1_000_000) for x in ("2024-02-29 23:59:59", "2024-03-01 00:00:00",
                                                             "2024-03-01 00:00:30", "2025-03-01 00:00:00")]
    cases += [{"t": t, "ticks": [0, 1], "index": 1, "tick": 1}, {"t": t, "ticks": [2], "index": 0, "tick": 2},
              {"t": t, "ticks": [0, 3], "index": 1, "tick": 3}, {"t": t, "ticks": [0, 3], "index": 0, "tick": 7},
              {"t": t, "ticks": [0, 2], "index": 1, "tick": 1.5}, {"t": t, "ticks": [0, 1], "index": 0, "tick": -0.6}]
    got = run_js(driver, "time_axis", ("tick_label",), "lib.tick_label(c.t, c.ticks, c.index, c.tick)", cases)
    want = [tick_label_reference(c["t"], c["ticks"], c["index"], c["tick"]) for c in cases]
    assert_all_same(got, want, cases)
    assert want[-6:] == ["00:00:00\nFri 01 Mar", "00:00:30\nFri 01 Mar", "Sat 01 Mar 2025", "", "00:00:30\nFri 01 Mar", ""]
    assert len(cases) > 1500


# --------------------------------------------------------------------------- thinning (thin.js)


def thin_range_reference(n: int, start: float, end: float, width: float) -> dict:
    s, e = max(0, math.floor(start)), min(n - 1, math.ceil(end))
    span = max(1, e - s + 1)
    k = max(1, math.ceil(span / width))
    pad = math.ceil(span / 2)
    lo, hi = max(0, math.floor((s - pad) / k) * k), min(n, e + 1 + pad)
    keep_lo = 0 if lo == 0 else (lo if k == 1 else lo + k)
    keep_hi = n if hi == n else (hi if k == 1 else hi - k)
    return {"s": s, "e": e, "k": k, "lo": lo, "hi": hi, "keep_lo": keep_lo, "keep_hi": keep_hi}


LINES = ("cvd", "imb", "value", "peak", "dd")


def _in_order(values: list[float]) -> float:
    total = 0.0
    for v in values:  # left to right, as the browser adds
        total += v
    return total


def thin_buckets_reference(d: dict, lo: int, hi: int, k: int, up: str, down: str) -> dict:
    """Buckets of k bars from lo (the last one ending at the data's end): OHLC, delta extremes and
    sum, volume; each line's bucket minimum and maximum (NaN ignored) in the order they came."""
    n = len(d["x"])
    c: dict[str, list] = {name: [] for name in ("x", "w", "open", "high", "low", "close", "top", "bottom", "color", "dpos",
                                                "dneg", "delta", "volume", "bars", "time")}
    lines: dict[str, list] = {name: [] for name in ("x", *LINES)}
    when = [pd.Timestamp(int(ms), unit="ms").strftime("%Y-%m-%d %a %H:%M:%S") for ms in d["t"]]
    for b0 in range(lo, hi, k):
        b1 = min(b0 + k, n)
        o, cl = d["open"][b0], d["close"][b1 - 1]
        delta = d["delta"][b0:b1]
        for name, value in (("x", (b0 + b1 - 1) / 2), ("w", 0.7 * (b1 - b0)), ("open", o), ("high", max(d["high"][b0:b1])),
                            ("low", min(d["low"][b0:b1])), ("close", cl), ("top", max(o, cl)), ("bottom", min(o, cl)),
                            ("color", up if cl >= o else down), ("dpos", max(max(delta), 0)), ("dneg", min(min(delta), 0)),
                            ("delta", _in_order(delta)), ("volume", _in_order(d["volume"][b0:b1])), ("bars", b1 - b0),
                            ("time", when[b0] if b1 - b0 == 1 else f"{when[b0]} to {when[b1 - 1]}")):
            c[name].append(value)
        if b1 - b0 == 1:
            lines["x"].append(b0)
            for name in LINES:
                lines[name].append(d[name][b0])
            continue
        lines["x"] += [b0 + 0.25 * (b1 - b0 - 1), b0 + 0.75 * (b1 - b0 - 1)]
        for name in LINES:
            v = np.asarray(d[name][b0:b1], dtype=np.float64)
            if np.isnan(v).all():
                lines[name] += [math.nan, math.nan]
                continue
            imin, imax = int(np.nanargmin(v)), int(np.nanargmax(v))  # the first of equal values
            lines[name] += [float(v[min(imin, imax)]), float(v[max(imin, imax)])]
    lines["imb_pos"] = [v if v > 0 else 0 for v in lines["imb"]]
    lines["imb_neg"] = [v if v < 0 else 0 for v in lines["imb"]]
    return {"candles": c, "lines": lines}


def test_thin_range_matches_the_python_rule(driver):
    rng = np.random.default_rng(11)
    cases = [{"n": n, "start": s, "end": e, "width": w} for n, s, e, w in (
        (1, -1, 1, 1200), (10, -1, 10, 1200), (10, 3, 3, 1200), (5000, -1, 5000, 1200), (5000, 4000.5, 4999.2, 7),
        (5000, 6000, 7000, 1200), (5000, -300, -10, 1200), (100, 50, 40, 1200), (2401, -1, 2401, 1200))]
    for _ in range(1000):
        n = int(rng.integers(1, 100_000))
        a, b = sorted(rng.uniform(-0.2 * n, 1.2 * n, size=2))
        cases.append({"n": n, "start": float(a), "end": float(b), "width": float(rng.choice([51, 300, 1200, 1543.5]))})
    got = run_js(driver, "thin", ("thin_range",), "lib.thin_range(c.n, c.start, c.end, c.width)", cases)
    want = [thin_range_reference(**c) for c in cases]
    assert_all_same(got, want, cases)
    assert want[3] == {"s": 0, "e": 4999, "k": 5, "lo": 0, "hi": 5000, "keep_lo": 0, "keep_hi": 5000}


def _bars(rng: np.random.Generator, n: int) -> dict:
    """Columns of the report's bars, with ties, NaN runs (no book; no CVD yet) and repeated values."""
    close = 5000 + np.cumsum(rng.choice([-0.5, -0.25, 0, 0.25, 0.5], size=n))
    open_ = np.concatenate(([close[0]], close[:-1]))
    delta = rng.integers(-50, 50, size=n).astype(np.float64) * rng.choice([1.0, 0.1, 1 / 3], size=n)
    imb = np.round(rng.uniform(-1, 1, size=n), 2)
    imb[rng.random(n) < 0.3] = np.nan
    cvd = np.cumsum(delta)
    if rng.random() < 0.3:
        cvd[: n // 2] = np.nan
    value = 100_000 + np.cumsum(rng.normal(0, 5, size=n)).round(2)
    peak = np.maximum.accumulate(value)
    t = np.asarray(_bar_times(rng, n))
    return {"x": np.arange(n).tolist(), "t": t.tolist(), "open": open_.tolist(),
            "high": (np.maximum(open_, close) + rng.choice([0, 0.25], size=n)).tolist(),
            "low": (np.minimum(open_, close) - rng.choice([0, 0.25], size=n)).tolist(), "close": close.tolist(),
            "volume": rng.integers(1, 500, size=n).astype(np.float64).tolist(), "delta": delta.tolist(),
            "cvd": cvd.tolist(), "imb": imb.tolist(), "value": value.tolist(), "peak": peak.tolist(),
            "dd": (-(peak - value) / peak * 100).tolist()}


def test_thin_buckets_match_the_python_reference(driver):
    rng = np.random.default_rng(3)
    cases = []
    for n in (1, 2, 3, 7, 64, 1000, 1501):
        d = _bars(rng, n)
        for k in sorted({1, 2, 3, 7, max(1, n // 5), n, n + 1}):
            lo = int(rng.integers(0, n)) // k * k
            hi = int(rng.integers(lo + 1, n + 1))
            cases += [{"d": d, "lo": 0, "hi": n, "k": k}, {"d": d, "lo": lo, "hi": hi, "k": k}]
    got = run_js(driver, "thin", ("thin_buckets",), "lib.thin_buckets(c.d, c.lo, c.hi, c.k, 'up', 'down')", cases)
    want = [thin_buckets_reference(c["d"], c["lo"], c["hi"], c["k"], "up", "down") for c in cases]
    assert_all_same(got, want, cases)
    # by hand: three bars in one bucket of 3
    d = {"x": [0, 1, 2], "t": [0.0, 60_000.0, 120_000.0], "open": [10, 11, 9], "high": [12, 13, 10], "low": [9, 10, 8],
         "close": [11, 9, 9.5], "volume": [5, 6, 7], "delta": [3, -4, 1], "cvd": [3, -1, 0], "imb": [0.5, math.nan, -0.25],
         "value": [100, 99, 101], "peak": [100, 100, 101], "dd": [0, -1, 0]}
    (one,) = run_js(driver, "thin", ("thin_buckets",), "lib.thin_buckets(c.d, 0, 3, 3, 'up', 'down')", [{"d": d}])
    assert {k: v[0] for k, v in one["candles"].items()} == {
        "x": 1, "w": 0.7 * 3, "open": 10, "high": 13, "low": 8, "close": 9.5, "top": 10, "bottom": 9.5, "color": "down",
        "dpos": 3, "dneg": -4, "delta": 0, "volume": 18, "bars": 3,
        "time": "1970-01-01 Thu 00:00:00 to 1970-01-01 Thu 00:02:00"}
    assert one["lines"]["x"] == [0.5, 1.5] and one["lines"]["cvd"] == [3, -1] and one["lines"]["imb"] == [0.5, -0.25]
    assert one["lines"]["value"] == [99, 101] and one["lines"]["imb_pos"] == [0.5, 0]


# --------------------------------------------------------------------------- the sweep's menus (sweep_select.js)


def test_sweep_menus_pick_what_best_in_cells_picks(driver):
    rng = np.random.default_rng(5)
    cases = []
    for _ in range(300):
        n = int(rng.integers(1, 60))
        values = [["a", "b"], ["1", "2", "3"], ["<x>", "x y", ""]][: int(rng.integers(0, 4))]
        sels = [rng.choice(v, size=n).tolist() for v in values]
        chosen = [str(rng.choice([html.BEST_CHOICE, *v, "absent"])) for v in values]
        key = rng.choice([-math.inf, -1.5, 0.0, 0.25, 2.0, 3.0], size=n).tolist()  # ties and runs with no trade
        cases.append({"x": rng.choice(["5", "10", "20"], size=n).tolist(), "y": rng.choice(["0.0", "0.5"], size=n).tolist(),
                      "key": key, "sels": sels, "chosen": chosen})
    got = run_js(driver, "sweep_select", ("best_rows",),
                 f"lib.best_rows(c.x, c.y, c.key, c.sels, c.chosen, {json.dumps(html.BEST_CHOICE)})", cases)
    want = []
    for c in cases:
        rows = np.ones(len(c["x"]), dtype=bool)
        for values, choice in zip(c["sels"], c["chosen"]):
            if choice != html.BEST_CHOICE:
                rows &= np.asarray(values) == choice
        want.append(html.best_in_cells(c["x"], c["y"], c["key"], rows).tolist())
    assert_all_same(got, want, cases)
    assert html.best_in_cells(["a", "a", "b"], ["1", "1", "1"], [2.0, 2.0, -math.inf]).tolist() == [True, False, True]


# --------------------------------------------------------------------------- the footprint's view (footprint_view.js)


def fitted_prices_reference(x, low, high, x_start, x_end, row):
    inside = [i for i, v in enumerate(x) if x_start - 0.5 <= v <= x_end + 0.5]
    if not inside:
        return None
    lo, hi = min(low[i] for i in inside), max(high[i] for i in inside)
    pad = max(row, 0.04 * (hi - lo))
    return [lo - row / 2 - pad, hi + row / 2 + pad]


def footprint_layers_reference(w, h, x_start, x_end, y_start, y_end, row, min_px):
    px_bar = w / max(1e-9, x_end - x_start)
    px_row = h / max(1e-9, (y_end - y_start) / row)
    return {"numbers": px_bar >= min_px[0] and px_row >= min_px[1], "strip_numbers": px_bar >= min_px[0] * 0.6,
            "readable_bars": max(1, math.floor(w / min_px[0]))}


def test_footprint_view_matches_the_python_rule(driver):
    rng = np.random.default_rng(9)
    fits, layers = [], []
    for _ in range(500):
        n = int(rng.integers(1, 200))
        x = (np.arange(n) + int(rng.integers(0, 5000))).astype(np.float64)
        low = (5000 + np.cumsum(rng.choice([-0.25, 0, 0.25], size=n))).round(2)
        high = low + rng.choice([0, 0.25, 1.0], size=n)
        a, b = sorted(rng.uniform(x[0] - 10, x[-1] + 10, size=2))
        row = float(rng.choice([0.25, 0.5, 1.0, 0.01]))
        fits.append({"x": x.tolist(), "low": low.tolist(), "high": high.tolist(), "a": float(a), "b": float(b), "row": row})
        y0 = float(low.min())
        layers.append({"w": float(rng.choice([0, 51, 800, 1307])), "h": float(rng.choice([500, 533])), "a": float(a), "b": float(b),
                       "y0": y0, "y1": y0 + float(rng.uniform(0, 40)), "row": row, "min": list(TEXT_MIN_PX)})
    layers += [{"w": 1160, "h": 500, "a": 0, "b": 20, "y0": 0, "y1": 10, "row": 0.25, "min": list(TEXT_MIN_PX)},
               {"w": 1160, "h": 500, "a": 5, "b": 5, "y0": 3, "y1": 3, "row": 0.25, "min": list(TEXT_MIN_PX)}]
    got = run_js(driver, "footprint_view", ("fitted_prices",), "lib.fitted_prices(c.x, c.low, c.high, c.a, c.b, c.row)", fits)
    want = [fitted_prices_reference(c["x"], c["low"], c["high"], c["a"], c["b"], c["row"]) for c in fits]
    assert_all_same(got, want, fits)
    assert None in want
    got = run_js(driver, "footprint_view", ("footprint_layers",),
                 "lib.footprint_layers(c.w, c.h, c.a, c.b, c.y0, c.y1, c.row, c.min)", layers)
    want = [footprint_layers_reference(c["w"], c["h"], c["a"], c["b"], c["y0"], c["y1"], c["row"], c["min"]) for c in layers]
    assert_all_same(got, want, layers)
    # 1160 px over 20 bars: 58 px a bar, the numbers' width; 40 rows in 500 px: 12.5 px, under 13
    assert want[-2] == {"numbers": False, "strip_numbers": True, "readable_bars": 20}
    assert want[-1]["numbers"] is True


# --------------------------------------------------------------------------- the heat maps' colours


def test_scale_colours_are_bokehs_colour_mapper(driver, tmp_path):
    """reports.colours.scale_colours (the cells of heatmap.png and sweep.html) gives the colours of
    BokehJS's LinearColorMapper (the colour bar of sweep.html) on every value, class edges included."""
    from reports.colours import NAN_COLOUR, RED_TO_GREEN, scale_colours

    frame = pd.DataFrame({"x": [1, 2], "y": [1, 1], "m": [0.0, 1.0]})
    path = html.save_page([html.sweep_heatmap(frame, "x", "y", "m")], tmp_path / "map.html", "map")
    open_page(driver, path)
    rng = np.random.default_rng(13)
    cases = []
    for low, high in ((0.0, 1.0), (-1.0, 2.0), (-3.7, 9.1), (0.1, 0.3), (-2.5, -2.4), (1e-9, 3e-9), (-1e6, 7e6)):
        edges = [low + k * (high - low) / 11 for k in range(12)]
        near = [np.nextafter(e, -np.inf) for e in edges] + [np.nextafter(e, np.inf) for e in edges]
        values = [*edges, *near, *rng.uniform(low - (high - low), high + (high - low), 60), math.nan, math.inf, -math.inf]
        cases.append({"low": low, "high": high, "values": [float(v) for v in values]})
    got = driver.execute_script("""
const m = Bokeh.documents[0].get_model_by_name("sweep_colours");
const revive = (k, v) => v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v;
const hex = (b) => "#" + Array.from(b).map((x) => x.toString(16).padStart(2, "0")).join("");
return JSON.parse(arguments[0], revive).map((c) => {
  m.setv({low: c.low, high: c.high}); m.update_data();
  const rgba = m.rgba_mapper.v_compute(c.values);
  return c.values.map((v, i) => hex(rgba.slice(4 * i, 4 * i + 3)));
});""", json.dumps(_encode(cases)))
    want = [scale_colours(c["values"], c["low"], c["high"], RED_TO_GREEN).tolist() for c in cases]
    assert_all_same(got, want, cases)
    assert NAN_COLOUR in want[0] and scale_colours([(k + 0.5) / 11 for k in range(11)], 0, 1).tolist() == list(RED_TO_GREEN)
