"""Backtest an order-flow strategy on tick data: parse the options, run the engine, print and write.

    python run_backtest.py [DATA ...] --strategy cvd_trend --bars 1min [options]

With no DATA it runs ``cvd_trend`` on 1-minute bars of the bundled sample
(``data/sample/sample_ticks.parquet``). It prints what it loaded and a metrics
table, and writes ``metrics.json``, ``trades.csv``, ``equity.csv`` and
``report.png`` into ``--out`` (default ``results/``), after removing the files an
earlier run of its kind left there (``reports.output.RUN_FILES``). ``--live URL`` runs the
strategy on a live stream instead (:mod:`research.live`), writing the files as it goes. ``python run_backtest.py
--help`` lists every option (``run_backtest_options``). Bad input prints one
``error: ...`` line on stderr and exits with status 2. The backtest itself is
:func:`research.run`; sweeps and walk-forward are :mod:`research.sweep` and
:mod:`research.walkforward`.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from contextlib import ExitStack, closing
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import pandas as pd

import strategies as strategy_registry
from data import OrderFlowError, retain_freed_memory
from data.errors import print_error
from data.storage import s3_endpoint
from reports import output
from research import RunConfig, engine
from run_backtest_options import Outputs, build_parser, make_config, strategy_listing
from strategies import strategy_params

MAX_FOOTPRINT_BARS = 80

__all__ = ["main", "build_parser", "make_config"]


def research(args: argparse.Namespace, config: RunConfig, out: Path) -> None:
    """--sweep / --walk-forward: run the grid, print the ranking and the checks, write the files into ``out``."""
    from reports import sweep as show
    from reports.sweep_output import write_sweep_outputs, write_walk_forward
    from research.executors import make_executor
    from research.sweep import parse_grid, sweep
    from research.walkforward import parse_walk_forward, walk_forward

    axes = parse_grid(args.sweep, config.strategy)
    spec = parse_walk_forward(args.walk_forward) if args.walk_forward else None
    inputs = output.run_inputs(config)
    output.owned_files(out, show.SWEEP_FILES if spec is None else show.WALK_FORWARD_FILES, inputs)
    with closing(make_executor(args.jobs, args.scheduler)) as executor:
        if spec is None:
            result = sweep(config, axes, out=out, executor=executor, rank_by=args.rank_by, resume=args.resume,
                           splits=args.pbo_splits)
            print(show.sweep_report(result, config))
            removed = output.clear_outputs(out, show.SWEEP_PLOTS, inputs)
            written = write_sweep_outputs(result, out, config, html=args.html)
        else:
            result = walk_forward(config, axes, spec, executor=executor, rank_by=args.rank_by)
            print(show.walk_forward_report(result, config))
            removed = output.clear_outputs(out, show.WALK_FORWARD_FILES, inputs)
            written = write_walk_forward(result, out, config, html=args.html)
    print("\nWrote " + ", ".join(str(p) for p in written))
    cleared = output.describe_cleared(removed, written, out)
    if cleared:
        print(cleared)


def load_checked(config: RunConfig, outputs: Outputs) -> engine.Loaded:
    """The engine's load, then the checks that need the bars (the footprint window) before the run."""
    loaded = engine.load(config)
    index = loaded.bars.index
    for option, window in (("--footprint", outputs.footprint), ("--html-footprint", outputs.html_footprint)):
        if window is None:
            continue
        count = int(((index >= window[0]) & (index < window[1])).sum())
        if count == 0:
            raise OrderFlowError(f"{option}: no bars stamped from {window[0].tz_convert(config.tz):%Y-%m-%d %H:%M} "
                                 f"to {window[1].tz_convert(config.tz):%Y-%m-%d %H:%M} {config.tz}")
        if option == "--footprint" and count > MAX_FOOTPRINT_BARS:
            print(f"note: --footprint covers {count:,} bars; footprint.png draws the first {MAX_FOOTPRINT_BARS}",
                  file=sys.stderr)
    return loaded


def compare(args: argparse.Namespace) -> tuple[pd.DataFrame, list[engine.Result], list[Outputs]]:
    """--compare: each named strategy on the same ticks and bars (loaded once); one row of metrics each.

    ``--param KEY=VALUE`` goes to every strategy that has ``KEY`` (an error if none has it);
    ``--size`` and the session options go to all. Names must be distinct.
    """
    names = [n.strip() for n in str(args.compare).split(",")]
    if not any(names) or not all(names):
        raise OrderFlowError(f"bad --compare {args.compare!r}: strategy names separated by commas, "
                             "e.g. --compare cvd_trend,stacked_imbalance")
    keys = [strategy_registry.get_strategy(n) for n in names]
    if len(set(keys)) < len(keys):
        raise OrderFlowError(f"bad --compare {args.compare!r}: a strategy is named twice")
    classes = keys
    param_keys = [pair.split("=", 1)[0].strip() for pair in args.param]
    unused = [k for k in param_keys if not any(k in strategy_params(cls) for cls in classes)]
    if unused:
        raise OrderFlowError(f"--param {unused[0]} is a parameter of none of {', '.join(names)}")
    runs = []
    for name, cls in zip(names, classes):
        own = [pair for pair, key in zip(args.param, param_keys) if key in strategy_params(cls)]
        config, outputs = make_config(argparse.Namespace(**{**vars(args), "strategy": name, "param": own}))
        outputs.out = args.out / name
        runs.append((config, outputs))
    loaded = load_checked(*runs[0])
    results = [engine.run(config, loaded) for config, _ in runs]
    return output.compare_frame(names, results), results, [o for _, o in runs]


def live(args: argparse.Namespace) -> None:
    """--live URL: the strategy on a live stream (:func:`research.live.run_live`); metrics.json, trades.csv and
    equity.csv written into --out as the run goes (each replaced whole), the report at the end."""
    from research.live import FIRST_BLOCK, LiveSource, run_live

    if args.data:
        raise OrderFlowError("--live URL takes no DATA: the data is the stream")
    if args.symbol is None:
        raise OrderFlowError("--live needs --symbol (the instrument, e.g. BTCUSDT)")
    for option in ("sweep", "walk_forward", "compare"):
        if getattr(args, option):
            raise OrderFlowError(f"--live runs one strategy: --{option.replace('_', '-')} does not apply")
    if args.idle_stop is not None and not args.idle_stop > 0:
        raise OrderFlowError(f"bad --idle-stop {args.idle_stop}: seconds > 0")
    config, outputs = make_config(args)
    if outputs.needs_ticks:
        raise OrderFlowError("--live keeps no ticks: --footprint, --trade-footprints, --html and --profile need a file")
    config = replace(config, data=args.live)
    source = LiveSource(args.live, args.symbol, grace=args.grace, idle_stop=args.idle_stop)
    out = outputs.out
    removed = output.clear_outputs(out, output.RUN_FILES)
    print(f"Live: {config.strategy_name} on {args.symbol.upper()} from {args.live}, {config.bars} bars; metrics.json, "
          f"trades.csv and equity.csv in {out} are updated as the run goes. Ctrl-C ends it. The first bars come after "
          f"{FIRST_BLOCK:,} aggressor orders (the footprint lines' first block, as in a backtest).", flush=True)
    told = [0, 0]  # connection events and gaps already told

    def update(result: engine.Result) -> None:
        tell_live(result.load_report, told)
        write_live(result, out)

    handlers = {}

    def on_start(cerebro: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, lambda *_: cerebro.runstop())

    try:
        result = run_live(config, source, on_update=update, every=args.write_every, on_start=on_start)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    tell_live(result.load_report, told)
    print_result(result)
    written = write_live(result, out)
    written.update(output.draw(result, out, plot=outputs.plot, bt_plot=outputs.bt_plot))
    print()
    print("Wrote " + ", ".join(str(p) for p in written.values()))
    cleared = output.describe_cleared(removed, written.values(), out)
    if cleared:
        print(cleared)


def write_live(result: engine.Result, out: Path) -> dict[str, Path]:
    """metrics.json, trades.csv, equity.csv written into a folder of ``out`` and moved over the old ones
    (a reader never sees half a file)."""
    staging = out / ".live-writing"
    written = output.write_outputs(result, staging)
    paths = {name: out / name for name in written}
    for name, path in written.items():
        os.replace(path, paths[name])
    staging.rmdir()
    return paths


def tell_live(report: dict, told: list[int]) -> None:
    """Print on stderr the connection losses and trade-id gaps not told yet."""
    events, gaps = report.get("connections") or [], report.get("gaps") or []
    for k, event in enumerate(events[told[0]:], start=told[0]):
        if event["event"] == "lost":
            print(f"live: connection lost at {event['time']:%Y-%m-%d %H:%M:%S} UTC ({event['reason']}); reconnecting",
                  file=sys.stderr, flush=True)
        elif event["event"] == "connected" and k:
            print(f"live: reconnected at {event['time']:%H:%M:%S} UTC", file=sys.stderr, flush=True)
    for gap in gaps[told[1]:]:
        print(f"live: gap of {gap['missed_trades']:,} trade(s) between trade ids {gap['last_trade_id']} and "
              f"{gap['first_trade_id']} ({gap['from']:%H:%M:%S.%f} to {gap['to']:%H:%M:%S.%f} UTC)",
              file=sys.stderr, flush=True)
    told[:] = [len(events), len(gaps)]


def print_result(result: "engine.Result") -> None:
    """What a run loaded, what it ran and its metrics table, with the notes on refused orders."""
    print(output.describe_load(result))
    print(output.describe_run(result))
    print()
    print("Metrics")
    print(output.metrics_table(result.metrics))
    for note in output.order_notes(result):
        print(note)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns 0 when done, 2 on bad input (one ``error:`` line on stderr).

    As an application, it lets the allocator keep freed memory for reuse
    (:func:`data.retain_freed_memory`: streamed bars run faster)."""
    retain_freed_memory()
    parser = build_parser()
    settings = ExitStack()
    try:
        args = parser.parse_args(argv)
        settings.enter_context(s3_endpoint(args.s3_endpoint))  # s3:// paths of this run
        if args.list_strategies:
            print(strategy_listing())
            return 0
        if args.live is not None:
            live(args)
            return 0
        if args.compare is not None:
            output.check_out_dir(args.out)
            table, results, outs = compare(args)
            print(output.describe_load(results[0]))
            print()
            print(output.compare_table(table))
            for name, r in zip(table.index, results):
                for note in output.order_notes(r):
                    print(f"{name}: {note}")
            inputs = output.run_inputs(results[0].config)
            removed = output.clear_outputs(args.out, output.COMPARE_FILES, inputs)
            args.out.mkdir(parents=True, exist_ok=True)
            table.to_csv(args.out / "compare.csv", float_format="%.10g")
            written = [args.out / "compare.csv"]
            for result, outputs in zip(results, outs):
                removed += output.clear_outputs(outputs.out, output.RUN_FILES, inputs)
                written += output.write_outputs(result, outputs.out).values()
            print()
            print(f"Wrote {args.out / 'compare.csv'} and each strategy's outputs in {args.out}/<name>/")
            cleared = output.describe_cleared(removed, written, args.out)
            if cleared:
                print(cleared)
            return 0
        config, outputs = make_config(args)
        if args.sweep or args.walk_forward:
            research(args, config, outputs.out)
            return 0
        inputs = output.run_inputs(config)
        output.owned_files(outputs.out, output.RUN_FILES, inputs)  # refuses before the run to overwrite an input
        result = engine.run(config, load_checked(config, outputs))
        print_result(result)
        removed = output.clear_outputs(outputs.out, output.RUN_FILES, inputs)
        written = output.write_outputs(result, outputs.out)
        written.update(output.draw(result, outputs.out, plot=outputs.plot, bt_plot=outputs.bt_plot,
                                   footprint=outputs.footprint, trade_footprints=outputs.trade_footprints,
                                   max_footprint_bars=MAX_FOOTPRINT_BARS, profile=outputs.profile))
        written.update(output.write_html(result, outputs.out, report=outputs.html, footprint=outputs.html_footprint))
        print()
        print("Wrote " + ", ".join(str(p) for p in written.values()))
        cleared = output.describe_cleared(removed, written.values(), outputs.out)
        if cleared:
            print(cleared)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except OrderFlowError as exc:
        return print_error(exc)
    finally:
        settings.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
