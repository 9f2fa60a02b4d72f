"""Parameter sweeps: every combination of a grid of strategy parameters (and bar specs), one backtest each.

    from research import RunConfig
    from research.sweep import parse_grid, sweep
    axes = parse_grid(["slope_period=5:20:5", "bars=1min,5min"], "cvd_trend")
    result = sweep(RunConfig(), axes, out=Path("results/sweep"), jobs=2, rank_by="sharpe")
    result.table, result.returns, result.best, result.statistics

Each set is ``engine.run(config.with_params(...), loaded)`` with the bars built once per
distinct bar spec and sent once to each worker (:mod:`research.executors`), so a row
equals a single run with those parameters exactly. With ``out``, each finished set is
written at once (its row appended to ``sweep.csv``, its daily returns to
``sets/NNNN.parquet``) and ``resume=True`` runs only the sets not yet written. The
overfitting statistics are a separate step (:func:`statistics`) over the returns matrix.
"""
from __future__ import annotations

import csv
import itertools
import json
import math
import sys
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal, DecimalException, InvalidOperation
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from data import OrderFlowError, parse_bar_spec
from data.reading.progress import progress_bar

from . import engine
from . import metrics as perf
from .config import RunConfig, parse_param, resolve_strategy
from .executors import Executor, make_executor, shared

BARS_AXIS = "bars"
LOWER_IS_BETTER = frozenset({"max_drawdown_pct", "max_drawdown_bars", "losses", "gross_loss", "avg_slippage_ticks",
                             "implementation_shortfall"})
DEFAULT_RANK = "sharpe"
DEFAULT_SPLITS = 16
MAX_SETS = 100_000

# read_csv reads back exactly the floats written with repr precision: pandas 3 does by default,
# pandas 2.2 needs float_precision="round_trip" (deprecated in 3)
EXACT_FLOATS: dict[str, str] = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


@dataclass(frozen=True)
class Axis:
    """One swept parameter (or ``bars``) and its values, in the order given."""

    name: str
    values: tuple


def parse_axis(text: str, strategy: Any) -> Axis:
    """``"NAME=V1,V2,..."`` or ``"NAME=START:STOP:STEP"`` -> an :class:`Axis` with typed values.

    Values take the type of the parameter's default (as ``--param``). A range runs from
    START to STOP inclusive in steps of STEP (``5:20:5`` -> 5, 10, 15, 20), computed in
    decimal so that ``0.1:0.3:0.1`` gives 0.1, 0.2, 0.3; STOP is included only when it
    falls on the grid. ``bars=1min,5min`` sweeps the bar spec (values only).
    """
    name, sep, spec = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not spec.strip():
        raise OrderFlowError(f"bad --sweep {text!r}: use NAME=V1,V2 or NAME=START:STOP:STEP")
    if name == BARS_AXIS:
        values = [v.strip() for v in spec.split(",")]
        for v in values:
            parse_bar_spec(v)
        return Axis(name, tuple(_distinct(values, text)))
    cls = resolve_strategy(strategy)
    label = strategy if isinstance(strategy, str) else cls.__name__
    if ":" in spec and "," not in spec:
        texts = _range_texts(spec, text)
    else:
        texts = [v for v in spec.split(",")]
    if any(not t.strip() for t in texts):
        raise OrderFlowError(f"bad --sweep {text!r}: an empty value")
    return Axis(name, tuple(_distinct([parse_param(name, t, cls, label) for t in texts], text)))


def _range_texts(spec: str, text: str) -> list[str]:
    parts = spec.split(":")
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts) if len(parts) == 3 else (None, None, None)
    except InvalidOperation:
        start = None
    if start is None or not all(d.is_finite() for d in (start, stop, step)):
        raise OrderFlowError(f"bad --sweep {text!r}: a range is START:STOP:STEP, e.g. 5:20:5")
    try:
        if step <= 0 or stop < start:
            raise OrderFlowError(f"bad --sweep {text!r}: STEP must be > 0 and STOP >= START")
        count = int((stop - start) / step) + 1
        if count > MAX_SETS:
            raise OrderFlowError(f"bad --sweep {text!r}: {count:,} values")
        return [str(start + k * step) for k in range(count)]
    except DecimalException:  # decimal.Overflow, Underflow ...: exponents beyond the decimal context's
        raise OrderFlowError(f"bad --sweep {text!r}: numbers too large or too small to count the range's "
                             "values") from None


def _distinct(values: list, text: str) -> list:
    if len(set(map(repr, values))) < len(values):
        raise OrderFlowError(f"bad --sweep {text!r}: a value is given twice")
    return values


def parse_grid(specs: Sequence[str], strategy: Any) -> list[Axis]:
    """The axes of ``--sweep`` options (each name once); their product is the grid."""
    axes = [parse_axis(s, strategy) for s in specs]
    names = [a.name for a in axes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise OrderFlowError(f"--sweep {twice[0]} is given twice: put all its values in one --sweep")
    size = math.prod(len(a.values) for a in axes)
    if size > MAX_SETS:
        raise OrderFlowError(f"the sweep grid has {size:,} sets (more than {MAX_SETS:,})")
    return axes


def grid_points(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the last axis varying fastest (``itertools.product``)."""
    return [dict(zip([a.name for a in axes], combo)) for combo in itertools.product(*(a.values for a in axes))]


def set_label(point: dict[str, Any]) -> str:
    """A set's name, ``"slope_period=5,bars=1min"`` (its column in returns.parquet); ``"base"`` for no axes."""
    return ",".join(f"{k}={v}" for k, v in point.items()) or "base"


def point_config(base: RunConfig, point: dict[str, Any]) -> RunConfig:
    """The run configuration of one set: ``base`` with the point's parameters (and bar spec)."""
    params = {k: v for k, v in point.items() if k != BARS_AXIS}
    config = base.with_params(**params)
    return replace(config, bars=point[BARS_AXIS]) if BARS_AXIS in point else config


# ---------------------------------------------------------------------------------------------
# One set, in a worker


@dataclass
class Task:
    """One backtest for a worker: the configuration, and which shared bars (and rows of them) it runs on."""

    number: int
    label: str
    config: RunConfig
    bars_key: str
    rows: tuple[int, int] | None = None  # a slice of the shared bars (walk-forward windows)
    keep_equity: bool = False

    def __repr__(self) -> str:
        return f"set {self.number} ({self.label})"


@dataclass
class SetResult:
    """What a worker sends back: small and picklable (no Backtrader objects, no bars)."""

    number: int
    label: str
    metrics: dict[str, Any]
    daily: pd.Series
    equity: pd.DataFrame | None = None
    trades: pd.DataFrame | None = None
    params: dict[str, Any] = field(default_factory=dict)
    limits: list[tuple[float, float]] = field(default_factory=list)  # (ordered, filled) of each limit order


def run_task(task: Task) -> SetResult:
    """Run one set on the bars shared with this worker (:func:`research.executors.shared`)."""
    loaded = shared(task.bars_key)
    if task.rows is not None:
        loaded = replace(loaded, bars=loaded.bars.iloc[task.rows[0]:task.rows[1]])
    result = engine.run(task.config, loaded)
    return SetResult(number=task.number, label=task.label, metrics=result.metrics, daily=result.daily,
                     equity=result.equity if task.keep_equity else None,
                     trades=result.trades if task.keep_equity else None, params=result.params, limits=result.limits)


def load_bars(base: RunConfig, specs: Sequence[str]) -> dict[str, engine.Loaded]:
    """:func:`engine.load` once per distinct bar spec: what the workers share, by bar spec."""
    return {spec: engine.load(replace(base, bars=spec, keep_ticks=False)) for spec in dict.fromkeys(specs)}


def task_config(config: RunConfig) -> RunConfig:
    """The configuration a worker needs: in-memory data is not sent again (the bars are shared)."""
    return config if isinstance(config.data, (str, Path)) else replace(config, data=config.data_name)


def execute(executor: Executor, tasks: list[Task], loaded: dict[str, engine.Loaded], desc: str, *,
            progress: bool | None = None, announce: bool = False) -> Iterator[SetResult]:
    """Run the tasks on ``executor`` with the bars shared once per worker; yields results as they finish.

    ``progress``: a tqdm bar on stderr with the sets done and the time left (None: when stderr is a
    terminal; False: never). ``announce`` (unless ``progress`` is False) also says on stderr how many
    sets run and on how many workers, and, without a bar, once the first round of sets (one per
    worker) has finished, how long the rest should take at that pace.
    """
    announce = announce and progress is not False
    first_round = max(1, min(executor.workers, len(tasks)))  # the sets that run at once
    if announce:
        print(f"{desc}: {len(tasks):,} sets on {first_round} worker{'s' if first_round > 1 else ''}", file=sys.stderr)
    bar = progress_bar(len(tasks), desc=desc, unit="set", progress=progress)
    started = time.monotonic()
    try:
        for done, result in enumerate(executor.run(run_task, tasks, loaded), 1):
            bar.update(1)
            if announce and bar.disable and done == first_round and done < len(tasks):
                elapsed = time.monotonic() - started
                print(f"{desc}: {done:,} of {len(tasks):,} sets done in {bar.format_interval(elapsed)}; about "
                      f"{bar.format_interval(elapsed / done * (len(tasks) - done))} left", file=sys.stderr)
            yield result
    finally:
        bar.close()


# ---------------------------------------------------------------------------------------------
# The sweep


@dataclass
class SweepResult:
    """A finished sweep: one row per set (``table``), the returns matrix, the best set and the statistics."""

    axes: list[Axis]
    table: pd.DataFrame  # index: set number; columns: label, the axes, every metric
    returns: pd.DataFrame  # days x set labels (daily simple returns; 0 on a day a set had no bars)
    rank_by: str
    best: int | None  # set number
    statistics: dict[str, Any]
    out: Path | None = None
    ran: int = 0  # sets run now (the others came from --resume)


def rank_key(value: Any, rank_by: str) -> float:
    """The sort key of a metric value: higher is better (``LOWER_IS_BETTER`` metrics negated); None/NaN last."""
    if value is None or isinstance(value, str):
        return -math.inf
    number = float(value)
    if math.isnan(number):
        return -math.inf
    return -number if rank_by in LOWER_IS_BETTER else number


def best_index(values: Sequence[Any], rank_by: str) -> int | None:
    """The position of the best value of ``rank_by`` (:func:`rank_key`; the first on a tie); None when
    no value ranks (all missing or undefined)."""
    keys = [rank_key(v, rank_by) for v in values]
    if not keys or max(keys) == -math.inf:
        return None
    return int(np.argmax(keys))


def best_set(table: pd.DataFrame, rank_by: str) -> int | None:
    """The number of the set with the best ``rank_by`` (the first in grid order on a tie); None if none ranks."""
    if rank_by not in table.columns:
        raise OrderFlowError(f"unknown --rank-by {rank_by!r}; use one of {', '.join(metric_names(table))}")
    best = best_index(list(table[rank_by]), rank_by)
    return None if best is None else int(table.index[best])


def metric_names(table: pd.DataFrame) -> list[str]:
    """The metric columns of a sweep table."""
    return [c for c in table.columns if c not in ("label",) and not c.startswith("param:")]


def rankable_metrics() -> list[str]:
    """The numeric metrics of a run (the keys of ``research.metrics.performance`` and the engine's
    :data:`research.engine.ORDER_METRICS`)."""
    values = pd.Series([1.0, 1.0], index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"], tz="UTC"))
    frame = pd.DataFrame({"open": [1.0, 1.0], "close": [1.0, 1.0]}, index=values.index)
    sample = perf.performance(values, pd.DataFrame({"pnl_net": [], "closed": []}), values.pct_change().dropna(),
                              frame, values * 0, 1.0)
    return ([k for k, v in sample.items() if not isinstance(v, (str, bool))] + list(engine.ORDER_METRICS)
            + ["limit_fill_pct"])


def check_rank_by(rank_by: str) -> str:
    """``rank_by`` if it names a numeric metric, else OrderFlowError listing them (before anything runs)."""
    names = rankable_metrics()
    if rank_by not in names:
        raise OrderFlowError(f"unknown --rank-by {rank_by!r}; use one of {', '.join(names)}")
    return rank_by


def check_splits(splits: int) -> int:
    """The CSCV block count S of the PBO: even and >= 2."""
    if not isinstance(splits, (int, np.integer)) or splits < 2 or splits % 2:
        raise OrderFlowError(f"bad --pbo-splits {splits}: an even number >= 2")
    return int(splits)


def fingerprint(base: RunConfig, axes: Sequence[Axis]) -> dict[str, Any]:
    """What a resumed sweep must share with the one that wrote ``out``: the configuration and the grid."""
    fields = {k: v for k, v in vars(base).items() if k not in ("params", "observers", "keep_ticks")}
    return {"config": {k: str(v) for k, v in fields.items()},
            "strategy": base.strategy_name, "params": {k: str(v) for k, v in base.params.items()},
            "grid": {a.name: [str(v) for v in a.values] for a in axes}}


class SweepStore:
    """``out``: ``sweep.csv`` (a row per finished set, appended as it finishes), ``sets/NNNN.parquet``
    (its daily returns) and ``sweep.json`` (the grid and configuration, then the summary)."""

    def __init__(self, out: Path, axes: Sequence[Axis], base: RunConfig, resume: bool) -> None:
        self.out, self.axes = Path(out), list(axes)
        self.csv, self.sets, self.json = self.out / "sweep.csv", self.out / "sets", self.out / "sweep.json"
        self.print = fingerprint(base, axes)
        self.labels = [set_label(p) for p in grid_points(axes)]
        self.columns: list[str] | None = None  # sweep.csv's header
        self.finished: list[int] = []  # the sets with a row in sweep.csv
        if resume:
            self.check_resumable()
            if self.csv.exists():
                self.columns, self.finished = self.read_rows()
        else:
            for stale in (self.csv, self.json):
                stale.unlink(missing_ok=True)
            if self.sets.is_dir():
                for path in self.sets.glob("*.parquet"):
                    path.unlink()
        self.out.mkdir(parents=True, exist_ok=True)
        self.sets.mkdir(exist_ok=True)
        if not self.json.exists():
            self.json.write_text(json.dumps({"status": "running", "fingerprint": self.print}, indent=2) + "\n")

    def check_resumable(self) -> None:
        """Resume only the sweep that wrote ``out``: sweep.json must hold this sweep's fingerprint.
        Rows without a sweep.json (no fingerprint) or a sweep.json that is no sweep's are refused;
        a folder with nothing in it starts afresh."""
        if not self.json.exists():
            earlier = self.csv.exists() or (self.sets.is_dir() and any(self.sets.glob("*.parquet")))
            if earlier:
                raise OrderFlowError(f"--resume: {self.json} is missing, so the rows in {self.out} have no fingerprint "
                                     "of the sweep that wrote them (its data, options and grid) and cannot be resumed; "
                                     "use another --out or drop --resume")
            return
        try:
            document = json.loads(self.json.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise OrderFlowError(f"--resume: not a sweep's sweep.json ({exc}); use another --out or drop --resume",
                                 source=self.json) from None
        previous = document.get("fingerprint") if isinstance(document, dict) else None
        if previous is None:
            raise OrderFlowError("--resume: not a sweep's sweep.json (no fingerprint of the sweep that wrote it); "
                                 "use another --out or drop --resume", source=self.json)
        if previous != self.print:
            raise OrderFlowError(f"--resume: {self.json} was written by a different sweep (data, options or grid); "
                                 "use another --out or drop --resume")

    def done(self) -> set[int]:
        """Numbers of the sets with a row in sweep.csv and their returns in sets/."""
        return {n for n in self.finished if (self.sets / f"{n:04d}.parquet").exists()}

    def read_rows(self) -> tuple[list[str] | None, list[int]]:
        """sweep.csv's header (None when the file is empty) and the set numbers of its rows, or
        OrderFlowError naming the file and the first bad line: text that is no UTF-8, a header
        without ``set`` and ``label``, a row of another width, a set number not of this grid or
        given twice, a label other than the grid's for that number."""
        def bad(problem: str) -> OrderFlowError:
            return OrderFlowError(f"--resume: {problem}; remove the file (its sets run again) or use another --out",
                                  source=self.csv)

        data = self.csv.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad(f"line {data[:exc.start].count(bytes([10])) + 1}: not UTF-8 text") from None
        try:
            lines = [(k, row) for k, row in enumerate(csv.reader(text.splitlines()), start=1) if row]
        except csv.Error as exc:
            raise bad(f"not a CSV table ({exc})") from None
        if not lines:
            return None, []
        header = lines[0][1]
        if header[:2] != ["set", "label"]:
            raise bad("line 1: no set and label columns (a sweep table starts with set,label,...)")
        numbers: list[int] = []
        for k, row in lines[1:]:
            if len(row) != len(header):
                raise bad(f"line {k}: {len(row)} fields, not {len(header)}")
            try:
                n = int(row[0])
            except ValueError:
                raise bad(f"line {k}: set {row[0]!r} is not a set number of this grid (0 to {len(self.labels) - 1})") from None
            if not 0 <= n < len(self.labels):
                raise bad(f"line {k}: set {n} is not a set number of this grid (0 to {len(self.labels) - 1})")
            if row[1] != self.labels[n]:
                raise bad(f"line {k}: set {n} is labelled {row[1]!r}, not {self.labels[n]!r}")
            if n in numbers:
                raise bad(f"line {k}: set {n} is there twice")
            numbers.append(n)
        return header, numbers

    def add(self, result: SetResult, point: dict[str, Any]) -> None:
        """Write one finished set: its returns, then its row (a set counts as done once its row is written)."""
        result.daily.rename(result.label).to_frame().to_parquet(self.sets / f"{result.number:04d}.parquet")
        row = {"set": result.number, "label": result.label, **{f"param:{k}": v for k, v in point.items()},
               **result.metrics}
        new = self.columns is None
        if new:
            self.columns = list(row)
        with self.csv.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(self.columns)
            writer.writerow([_cell(row.get(c)) for c in self.columns])

    def sort(self) -> None:
        """Rewrite sweep.csv with its rows in set order (they were appended in completion order); cells unchanged."""
        with self.csv.open(newline="") as handle:
            header, *rows = list(csv.reader(handle))
        partial = self.csv.with_suffix(".csv.partial")
        with partial.open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *sorted(rows, key=lambda r: int(r[0]))])
        partial.replace(self.csv)

    def read(self, labels: dict[int, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The table (sorted by set number) and the returns matrix of every finished set."""
        table = pd.read_csv(self.csv, keep_default_na=False, na_values=[""], **EXACT_FLOATS)
        table = table.set_index("set").sort_index()
        table = table.astype({c: object for c in table.columns if c.startswith("param:")})
        table = table.replace({np.nan: None})
        returns = pd.concat([self.returns_of(n).rename(labels[n]) for n in table.index], axis=1)
        return table, returns

    def returns_of(self, number: int) -> pd.Series:
        """The daily returns of set ``number`` (sets/NNNN.parquet), or OrderFlowError naming a damaged file."""
        path = self.sets / f"{number:04d}.parquet"
        try:
            return pd.read_parquet(path).iloc[:, 0]
        except (OSError, ValueError, IndexError) as exc:
            raise OrderFlowError(f"not the daily returns of a sweep's set ({' '.join(str(exc).split())}); remove it "
                                 "(its set runs again with --resume) or use another --out", source=path) from None


def _cell(value: Any) -> Any:
    """A CSV cell: floats by ``repr`` (exact round trip), None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def sweep(base: RunConfig, axes: Sequence[Axis], *, out: Path | None = None, jobs: int | None = None,
          scheduler: Any = None, executor: Executor | None = None, rank_by: str = DEFAULT_RANK,
          resume: bool = False, splits: int = DEFAULT_SPLITS, stats: bool = True) -> SweepResult:
    """Run every set of the grid ``axes`` on ``base``; see the module docstring.

    ``executor`` (or ``jobs``/``scheduler``, :func:`research.executors.make_executor`) runs
    the sets. With ``out`` the sets are written as they finish and ``resume`` skips those
    already written by the same sweep. ``rank_by`` names the metric that picks the best
    set (higher is better, except drawdowns); ``splits`` is the CSCV S of the PBO.
    """
    check_rank_by(rank_by)
    check_splits(splits)
    points = grid_points(axes)
    labels = {n: set_label(p) for n, p in enumerate(points)}
    specs = [p.get(BARS_AXIS, base.bars) for p in points]
    store = SweepStore(out, axes, base, resume) if out is not None else None
    done = store.done() if store is not None else set()
    todo = [n for n in range(len(points)) if n not in done]
    results: dict[int, SetResult] = {}
    if todo:
        loaded = load_bars(base, [specs[n] for n in todo])
        tasks = [Task(n, labels[n], task_config(point_config(base, points[n])), specs[n]) for n in todo]
        own = executor is None
        executor = executor or make_executor(jobs, scheduler)
        try:
            for result in execute(executor, tasks, loaded, "sweep", progress=base.progress, announce=True):
                results[result.number] = result
                if store is not None:
                    store.add(result, points[result.number])
        finally:
            if own:
                executor.close()
    if store is not None:
        store.sort()
        table, returns = store.read(labels)
    else:
        table = pd.DataFrame([{"set": n, "label": labels[n], **{f"param:{k}": v for k, v in points[n].items()},
                               **results[n].metrics} for n in sorted(results)]).set_index("set")
        table = table.replace({np.nan: None})
        returns = pd.concat([results[n].daily.rename(labels[n]) for n in sorted(results)], axis=1)
    returns = returns.sort_index().fillna(0.0)
    returns.index.name = "day"
    best = best_set(table, rank_by)
    result = SweepResult(axes=list(axes), table=table, returns=returns, rank_by=rank_by, best=best,
                         statistics=statistics(returns, splits, best=labels.get(best)) if stats else {},
                         out=out, ran=len(todo))
    if store is not None:
        write_summary(result, store)
    return result


def write_summary(result: SweepResult, store: SweepStore) -> None:
    """returns.parquet (days x sets) and sweep.json (grid, best set, statistics)."""
    result.returns.to_parquet(store.out / "returns.parquet")
    best = None
    if result.best is not None:
        row = result.table.loc[result.best]
        best = {"set": result.best, "label": row["label"],
                "params": {c.removeprefix("param:"): _plain(row[c]) for c in row.index if c.startswith("param:")},
                "metrics": {c: _plain(row[c]) for c in metric_names(result.table)}}
    document = {
        "status": "done",
        "sets": len(result.table),
        "rank_by": result.rank_by,
        "best": best,
        "statistics": result.statistics,
        "grid": {a.name: [_plain(v) for v in a.values] for a in result.axes},
        "fingerprint": store.print,
    }
    store.json.write_text(json.dumps(document, indent=2, default=str) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


# ---------------------------------------------------------------------------------------------
# The overfitting statistics: a separate step over the returns matrix


def statistics(returns: pd.DataFrame, splits: int = DEFAULT_SPLITS, best: str | None = None) -> dict[str, Any]:
    """The deflated Sharpe ratio of the best set and the PBO by CSCV with ``splits`` blocks (``research.overfit``).

    Each statistic is a dict; one that cannot be computed (too few days for ``splits``,
    a single set) is ``{"error": reason}`` instead, so a sweep always finishes.
    ``best`` (the ``--rank-by`` choice) is recorded beside the DSR's own best (by Sharpe).
    """
    try:
        from . import overfit
    except ImportError:  # pragma: no cover - before research.overfit exists
        return {"error": "research.overfit is not installed"}
    out: dict[str, Any] = {"observations": int(len(returns)), "sets": int(returns.shape[1]), "rank_by_best": best}
    try:
        out["deflated_sharpe"] = overfit.deflated_sharpe(returns).to_dict()
    except (OrderFlowError, ValueError) as exc:
        out["deflated_sharpe"] = {"error": " ".join(str(exc).split())}
    try:
        pbo = overfit.probability_of_backtest_overfitting(returns, n_splits=splits)
        out["pbo"] = {**pbo.to_dict(), "logits": [_plain(v) for v in pbo.logits]}
    except (OrderFlowError, ValueError) as exc:
        out["pbo"] = {"error": " ".join(str(exc).split()), "n_splits": splits}
    return out
