"""The serverless entry point of the original order-flow script (AWS Lambda).

Accepts what the original accepted: an event with ``"trades"`` directly, or an
API-Gateway event whose ``"body"`` is a dict, a JSON string, or base64 of JSON
with ``"isBase64Encoded": true`` (a JSON boolean, as API Gateway sends it; absent or
null means false). Each trade has ``Price``, ``Volume``,
``BidSize``, ``AskSize`` and ``TradeType`` (1 = bought on the ask, 2 = sold on
the bid). Answers:

- 200, body ``{"message", "latest_cvd", "unknown_side", "data"}``: ``data`` is the last
  :data:`LAST_ROWS` trades as sent (every field of theirs) with their metrics (missing
  values null); ``unknown_side`` counts the trades whose ``TradeType`` is no buy or sell
  code (3, 0, 1.5, missing ...), which the original's formulas count on neither side;
- 400, body ``{"error", "message"}`` (the same text in both) saying what is wrong
  with the request (the first bad trade and field when it is one): clients of the
  original script read ``error``. A price must be a positive number; sizes are computed
  in float64, so an integer size of 2^53 or more, or a CVD that gets there, is refused
  rather than rounded or wrapped; text must be valid Unicode (no lone surrogate);
- 413, the same body, for a request too large: a body of more than :data:`MAX_BODY_BYTES`
  bytes (decoded, when base64) or more than :data:`MAX_TRADES` trades;
- 500, body ``{"error", "message"}`` with a generic text for anything unexpected
  (the exception is logged, never sent).

Only the fields the metrics read go into a frame (:data:`data.bars.metrics.INPUT_COLUMNS`);
other fields cost nothing beyond reading the JSON, and are echoed in ``data``.

It also answers the storage service's object-created event (an S3 notification, ``{"Records":
[{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": ...},
"object": {"key": ...}}}]}``, or the same through EventBridge): each tick file uploaded under
:data:`INPUT_PREFIX_ENV` is read (any format :func:`data.load_ticks` reads), and written back
under :data:`OUTPUT_PREFIX_ENV` (:func:`handle_object_created`).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import sys
import urllib.parse
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data import load_ticks, make_bars
from data.bars.metrics import INPUT_COLUMNS, METRIC_COLUMNS, order_flow_metrics
from data.errors import OrderFlowError
from data.storage import S3Path, as_path

logger = logging.getLogger(__name__)

LAST_ROWS = 10
OK_MESSAGE = "Order flow metrics computed"
INTERNAL_ERROR_MESSAGE = "Internal error while computing order flow metrics"
NO_TRADES_MESSAGE = "No trades: send a JSON object with a non-empty 'trades' list"
HEADERS = {"Content-Type": "application/json"}
MAX_TRADES = 100_000
"""Most trades in one request (more answer 413)."""
MAX_BODY_BYTES = 6 * 1024 * 1024
"""Largest body in bytes, decoded when base64 (larger answers 413): AWS Lambda's own limit for a request."""
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
"""A JSON escape of a surrogate, or a surrogate itself: a body without one holds only valid Unicode."""


class BadRequest(ValueError):
    """A request the handler cannot serve; its text is the message of a ``status`` answer."""

    status = 400


class TooLarge(BadRequest):
    """A request beyond :data:`MAX_TRADES` or :data:`MAX_BODY_BYTES`."""

    status = 413


def lambda_handler(
    event: Any, context: Any = None, *, max_trades: int = MAX_TRADES, max_body_bytes: int = MAX_BODY_BYTES
) -> dict[str, Any]:
    """Compute the original order-flow metrics for the trades in ``event``.

    Per trade (see :func:`data.bars.metrics.order_flow_metrics`):
    ``Volume_Delta = Aggressive_Buy - Aggressive_Sell``, ``CVD`` its running
    sum, ``Imbalance = BidSize - AskSize``; ``latest_cvd`` is the last trade's
    CVD. ``context`` is unused (AWS passes it). ``max_trades`` and ``max_body_bytes``
    bound the request (413 beyond them); AWS calls with the defaults. An object-created event
    is answered by :func:`handle_object_created`.
    """
    if object_events(event):
        return handle_object_created(event)
    try:
        trades = trades_from_event(event, max_trades=max_trades, max_body_bytes=max_body_bytes)
        metrics = order_flow_metrics(trades_frame(trades), source="trades")
        return _response(200, {
            "message": OK_MESSAGE,
            "latest_cvd": _json_value(metrics["CVD"].iloc[-1]),
            "unknown_side": metrics.attrs["unknown_side"],
            "data": json_records(trades[-LAST_ROWS:], metrics.tail(LAST_ROWS)),
        })
    except BadRequest as exc:
        logger.info("order-flow request rejected: %s", exc)
        return _error(exc.status, str(exc))
    except OrderFlowError as exc:
        logger.info("order-flow request rejected: %s", exc)
        return _error(400, str(exc))
    except Exception:  # noqa: BLE001 - the one place that turns any failure into a 500
        logger.exception("order-flow request failed")
        return _error(500, INTERNAL_ERROR_MESSAGE)


def trades_from_event(
    event: Any, *, max_trades: int = MAX_TRADES, max_body_bytes: int = MAX_BODY_BYTES
) -> list[dict[str, Any]]:
    """The non-empty list of trade objects carried by ``event``; BadRequest otherwise.

    ``event["trades"]`` wins; else ``event["body"]``: a dict, a JSON string, or
    base64 of JSON when ``event["isBase64Encoded"]`` is true (a boolean; absent or
    null is false, any other type is a bad request). TooLarge for a body of more than
    ``max_body_bytes`` bytes or more than ``max_trades`` trades; BadRequest for text
    that is not valid Unicode in a trade.
    """
    if not isinstance(event, dict):
        raise BadRequest("The event must be a JSON object")
    text = None
    if "trades" in event:
        payload: Any = event
    elif event.get("body") is not None:
        payload, text = _decode_body(event["body"], _is_base64(event.get("isBase64Encoded")), max_body_bytes)
    else:
        raise BadRequest(NO_TRADES_MESSAGE)
    if not isinstance(payload, dict):
        raise BadRequest("The body must be a JSON object with a 'trades' list")
    trades = payload.get("trades")
    if trades is None or (isinstance(trades, list) and not trades):
        raise BadRequest(NO_TRADES_MESSAGE)
    if not isinstance(trades, list):
        raise BadRequest("'trades' must be a list of trade objects")
    if len(trades) > max_trades:
        raise TooLarge(f"Too many trades: {len(trades):,} in the request, at most {max_trades:,}")
    first_bad = next((i for i, trade in enumerate(trades) if not isinstance(trade, dict)), None)
    if first_bad is not None:
        raise BadRequest(f"'trades' must be a list of trade objects: trade {first_bad + 1} is not")
    if text is None or _SURROGATE.search(text):
        _check_unicode(trades)
    return trades


def _check_unicode(trades: list[dict[str, Any]]) -> None:
    """BadRequest naming the first trade and field whose text (key or value, at any depth) holds a lone
    surrogate (``"\\ud800"`` in JSON): not Unicode, so no UTF-8 text or Arrow column can hold it.
    One encoding of all the trades; the trades are searched only when it fails."""
    if _is_unicode(trades):
        return
    for number, trade in enumerate(trades, 1):
        for key, value in trade.items():
            if not (_is_unicode(key) and _is_unicode(value)):
                raise BadRequest(f"trade {number}, field {key!r}: text that is not valid Unicode (a lone surrogate)")


def _is_unicode(value: Any) -> bool:
    """Whether every text in ``value`` (a JSON value) encodes as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False, skipkeys=True, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (RecursionError, ValueError):
        raise BadRequest("A trade holds values nested too deeply") from None
    return True


def _decode_body(body: Any, is_base64: bool, max_bytes: int = MAX_BODY_BYTES) -> tuple[Any, str | None]:
    """An API-Gateway body: a dict as is; text (base64 first when flagged) of at most ``max_bytes``
    bytes as JSON (TooLarge beyond; a base64 text is measured by what it decodes to, before decoding).
    Returns the payload and the JSON text it was read from (None for a dict)."""
    if isinstance(body, dict):
        return body, None
    if not isinstance(body, (str, bytes)):
        raise BadRequest("The body must be a JSON object with a 'trades' list")
    if is_base64:
        padding = body[-2:].count("=" if isinstance(body, str) else b"=")
        _check_size(len(body) // 4 * 3 - padding, max_bytes)
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("The body is not valid base64") from None
    else:
        _check_size(len(body.encode("utf-8", "surrogatepass")) if isinstance(body, str) else len(body), max_bytes)
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The body is not UTF-8 text") from None
    if not body.strip():
        raise BadRequest(NO_TRADES_MESSAGE)
    try:
        return json.loads(body), body
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"Malformed JSON in the body: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BadRequest("Malformed JSON in the body: nested too deeply") from None
    except ValueError:  # an integer of more digits than Python converts
        raise BadRequest(
            f"Malformed JSON in the body: a number has more than {sys.get_int_max_str_digits()} digits"
        ) from None


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise TooLarge(f"The body is too large: {size:,} bytes, at most {max_bytes:,}")


def _is_base64(flag: Any) -> bool:
    """``isBase64Encoded`` as API Gateway sends it: a JSON boolean (absent/null: false)."""
    if flag is None or isinstance(flag, bool):
        return bool(flag)
    raise BadRequest(f"'isBase64Encoded' must be true or false (a JSON boolean), not {json.dumps(flag)}")


def trades_frame(trades: list[dict[str, Any]]) -> pd.DataFrame:
    """The fields the metrics read (:data:`data.bars.metrics.INPUT_COLUMNS` that some trade has) as a
    DataFrame, one row per trade: the other fields are never put in a frame, whatever their number.

    An integer too large for a float (pandas 2.2 fails converting it) leaves the columns as
    Python objects, so that the metrics' own checks name the bad value (a 400)."""
    present = set().union(*trades)
    columns = [c for c in INPUT_COLUMNS if c in present]
    try:
        return pd.DataFrame.from_records(trades, columns=columns)
    except OverflowError:
        return pd.DataFrame({c: pd.Series([t.get(c) for t in trades], dtype=object) for c in columns})


def json_records(trades: list[dict[str, Any]], metrics: pd.DataFrame) -> list[dict[str, Any]]:
    """Each trade as sent with its row of ``metrics`` (the same number of rows) as a JSON-safe record:
    the fields the metrics read are there in every record (null when a trade lacks one)."""
    read = [c for c in metrics.columns if c in INPUT_COLUMNS]
    records = []
    for trade, computed in zip(trades, metrics[list(METRIC_COLUMNS)].astype(object).to_dict("records")):
        record = {str(k): _json_value(v) for k, v in trade.items()}
        for column in read:
            record.setdefault(column, None)
        record.update((k, _json_value(v)) for k, v in computed.items())
        records.append(record)
    return records


def _json_value(value: Any) -> Any:
    """One value as a JSON-safe value: numpy numbers as Python numbers, times as ISO text, non-finite
    numbers (also inside lists and objects) and missing values as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (list, dict)):  # NaN and Infinity, which Python's JSON reads, become null
        return json.loads(json.dumps(value, default=str), parse_constant=lambda _: None)
    return value


def _error(status: int, text: str) -> dict[str, Any]:
    """An error answer: ``error`` as the original script named it, ``message`` as the 200 answer does."""
    return _response(status, {"error": text, "message": text})


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """The API-Gateway proxy answer: status, JSON content type, JSON body (no NaN)."""
    return {
        "statusCode": status,
        "headers": dict(HEADERS),
        "body": json.dumps(body, allow_nan=False),
    }


# --------------------------------------------------------------------------- object-created events

INPUT_PREFIX_ENV = "ORDERFLOW_INPUT_PREFIX"
"""Only objects whose keys start with this prefix are read (default: every key outside the output prefix)."""
OUTPUT_PREFIX_ENV = "ORDERFLOW_OUTPUT_PREFIX"
"""Where the results go, in the same bucket (default :data:`DEFAULT_OUTPUT_PREFIX`)."""
OUTPUT_BUCKET_ENV = "ORDERFLOW_OUTPUT_BUCKET"
"""Another bucket for the results (default: the uploaded file's)."""
BARS_ENV = "ORDERFLOW_BARS"
"""The bar spec of the bars written (default :data:`DEFAULT_BARS`)."""
DEFAULT_OUTPUT_PREFIX = "orderflow/"
DEFAULT_BARS = "1min"
OUTPUT_SUFFIXES = {"bars": ".bars.parquet", "metrics": ".metrics.parquet", "summary": ".json", "error": ".error.json"}
"""What is written for an uploaded ``KEY``, under the output prefix: ``KEY.bars.parquet`` and
``KEY.metrics.parquet``, then ``KEY.json`` (last: its presence says the other two are whole), or
``KEY.error.json`` for a file that cannot be read."""


def object_events(event: Any) -> list[tuple[str, str]]:
    """The ``(bucket, key)`` of each object-created record of ``event`` (an S3 notification's
    ``Records``, keys URL-decoded as S3 sends them; or an EventBridge ``Object Created`` event),
    or ``[]`` when ``event`` is no such event."""
    if not isinstance(event, dict):
        return []
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        detail = event.get("detail") or {}
        bucket, key = (detail.get("bucket") or {}).get("name"), (detail.get("object") or {}).get("key")
        return [(bucket, key)] if isinstance(bucket, str) and isinstance(key, str) else []
    records = event.get("Records")
    if not isinstance(records, list):
        return []
    found = []
    for record in records:
        if not (isinstance(record, dict) and record.get("eventSource") == "aws:s3"
                and str(record.get("eventName", "")).startswith("ObjectCreated:")):
            continue
        s3 = record.get("s3") or {}
        bucket, key = (s3.get("bucket") or {}).get("name"), (s3.get("object") or {}).get("key")
        if isinstance(bucket, str) and isinstance(key, str):
            found.append((bucket, urllib.parse.unquote_plus(key)))
    return found


def handle_object_created(event: dict[str, Any], *, input_prefix: str | None = None, output_prefix: str | None = None,
                          output_bucket: str | None = None, bars: str | None = None) -> dict[str, Any]:
    """Read each tick file the event announces and write its results back to the object store.

    For an uploaded ``s3://BUCKET/IN/NAME`` (``IN``: ``input_prefix``, default
    ``$ORDERFLOW_INPUT_PREFIX`` or none), under ``s3://OUT_BUCKET/OUT/NAME`` (``OUT``:
    ``output_prefix``, default ``$ORDERFLOW_OUTPUT_PREFIX`` or ``orderflow/``; ``OUT_BUCKET``:
    ``output_bucket``, default ``$ORDERFLOW_OUTPUT_BUCKET`` or ``BUCKET``):

    - ``NAME.bars.parquet``: the order-flow bars of ``bars`` (default ``$ORDERFLOW_BARS`` or
      ``1min``; :func:`data.make_bars`), the bar time as the ``timestamp`` column;
    - ``NAME.metrics.parquet``: every tick with the original per-trade metrics
      (:func:`data.order_flow_metrics`: ``Aggressive_Buy, Aggressive_Sell, Volume_Delta, CVD,
      Imbalance``);
    - ``NAME.json``, written last: ``message``, ``source``, ``latest_cvd``, ``unknown_side``,
      ``ticks``, ``bars``, ``bar_spec``, ``outputs`` (the two Parquet objects), ``load_report`` and
      ``data`` (the last 10 ticks with their metrics), as the original answer gave them;
    - or, for a file that cannot be read (a bad row, an unknown format ...), ``NAME.error.json``:
      ``{"error", "message", "source"}`` naming the file, column and row, instead of a crash.

    Each success removes an earlier error object of the key and each failure the earlier results,
    so that what lies under ``OUT`` says how the last upload went. Objects under ``OUT`` in
    ``BUCKET`` itself and keys outside ``IN`` are passed over (a trigger on the whole bucket does
    not loop on the results). Returns ``{"statusCode": 200, "results": [...]}``: per record its
    ``source`` and ``status`` (``ok``, ``error`` or ``skipped``) and what was written. A failure
    to write the results (the store refusing) raises, so that the service retries.
    """
    input_prefix = os.environ.get(INPUT_PREFIX_ENV, "") if input_prefix is None else input_prefix
    output_prefix = os.environ.get(OUTPUT_PREFIX_ENV, DEFAULT_OUTPUT_PREFIX) if output_prefix is None else output_prefix
    output_bucket = output_bucket or os.environ.get(OUTPUT_BUCKET_ENV) or None
    spec = bars or os.environ.get(BARS_ENV) or DEFAULT_BARS
    results = []
    for bucket, key in object_events(event):
        source = f"s3://{bucket}/{key}"
        out_bucket = output_bucket or bucket
        if not key.startswith(input_prefix) or (out_bucket == bucket and key.startswith(output_prefix)) \
                or key.endswith("/"):
            results.append({"source": source, "status": "skipped"})
            continue
        base = as_path(f"s3://{out_bucket}/{output_prefix}{key[len(input_prefix):]}")
        results.append(_process_upload(source, base, spec))
    return {"statusCode": 200, "results": results}


def _outputs(base: S3Path) -> dict[str, S3Path]:
    return {name: base.parent / (base.name + suffix) for name, suffix in OUTPUT_SUFFIXES.items()}


def _process_upload(source: str, base: S3Path, spec: str) -> dict[str, Any]:
    """One uploaded tick file: its results, or its error object (see :func:`handle_object_created`)."""
    outputs = _outputs(base)
    try:
        ticks = load_ticks(source)
        bars = make_bars(ticks, spec)
        metrics = order_flow_metrics(ticks, source=source)
    except Exception as exc:  # noqa: BLE001 - a file that cannot be read gets an error object, never a crash
        if isinstance(exc, OrderFlowError):
            logger.info("tick file rejected: %s", exc)
            text = str(exc)
        else:
            logger.exception("tick file failed: %s", source)
            text = f"{source}: {INTERNAL_ERROR_MESSAGE}"
        for name in ("bars", "metrics", "summary"):
            outputs[name].unlink(missing_ok=True)
        outputs["error"].write_bytes(json.dumps({"error": text, "message": text, "source": source},
                                                allow_nan=False).encode())
        return {"source": source, "status": "error", "error": text, "written": [str(outputs["error"])]}
    outputs["bars"].write_bytes(_parquet(bars.rename_axis("timestamp").reset_index()))
    outputs["metrics"].write_bytes(_parquet(metrics))
    report = ticks.attrs.get("load_report") or {}
    summary = {
        "message": OK_MESSAGE,
        "source": source,
        "latest_cvd": _json_value(metrics["CVD"].iloc[-1]),
        "unknown_side": metrics.attrs["unknown_side"],
        "ticks": len(ticks),
        "bars": len(bars),
        "bar_spec": spec,
        "outputs": {"bars": str(outputs["bars"]), "metrics": str(outputs["metrics"])},
        "load_report": _json_value(report),
        "data": [{str(k): _json_value(v) for k, v in row.items()}
                 for row in metrics.tail(LAST_ROWS).astype(object).to_dict("records")],
    }
    outputs["summary"].write_bytes(json.dumps(summary, allow_nan=False).encode())
    outputs["error"].unlink(missing_ok=True)
    written = [str(outputs[name]) for name in ("bars", "metrics", "summary")]
    return {"source": source, "status": "ok", "ticks": len(ticks), "bars": len(bars), "written": written}


def _parquet(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet bytes (zstd), without its attrs."""
    sink = pa.BufferOutputStream()
    plain = frame.copy(deep=False)
    plain.attrs = {}
    pq.write_table(pa.Table.from_pandas(plain, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()
