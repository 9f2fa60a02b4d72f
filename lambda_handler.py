"""The serverless entry point of the original order-flow script (AWS Lambda).

Accepts what the original accepted: an event with ``"trades"`` directly, or an
API-Gateway event whose ``"body"`` is a dict, a JSON string, or base64 of JSON
with ``"isBase64Encoded": true`` (a JSON boolean, as API Gateway sends it; absent or
null means false). Each trade has ``Price``, ``Volume``,
``BidSize``, ``AskSize`` and ``TradeType`` (1 = bought on the ask, 2 = sold on
the bid). Answers:

- 200, body ``{"message", "latest_cvd", "data"}``: ``data`` is the last
  :data:`LAST_ROWS` trades with their metrics (records; missing values null);
- 400, body ``{"error", "message"}`` (the same text in both) saying what is wrong
  with the request: clients of the original script read ``error``;
- 500, body ``{"error", "message"}`` with a generic text for anything unexpected
  (the exception is logged, never sent).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
from typing import Any

import numpy as np
import pandas as pd

from data.bars.metrics import order_flow_metrics
from data.errors import OrderFlowError

logger = logging.getLogger(__name__)

LAST_ROWS = 10
OK_MESSAGE = "Order flow metrics computed"
INTERNAL_ERROR_MESSAGE = "Internal error while computing order flow metrics"
NO_TRADES_MESSAGE = "No trades: send a JSON object with a non-empty 'trades' list"
HEADERS = {"Content-Type": "application/json"}


class BadRequest(ValueError):
    """A request the handler cannot serve; its text is the 400 message."""


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Compute the original order-flow metrics for the trades in ``event``.

    Per trade (see :func:`data.bars.metrics.order_flow_metrics`):
    ``Volume_Delta = Aggressive_Buy - Aggressive_Sell``, ``CVD`` its running
    sum, ``Imbalance = BidSize - AskSize``; ``latest_cvd`` is the last trade's
    CVD. ``context`` is unused (AWS passes it).
    """
    try:
        trades = trades_from_event(event)
        metrics = order_flow_metrics(trades_frame(trades), source="trades")
        return _response(200, {
            "message": OK_MESSAGE,
            "latest_cvd": _json_value(metrics["CVD"].iloc[-1]),
            "data": json_records(metrics.tail(LAST_ROWS)),
        })
    except (BadRequest, OrderFlowError) as exc:
        logger.info("order-flow request rejected: %s", exc)
        return _error(400, str(exc))
    except Exception:  # noqa: BLE001 - the one place that turns any failure into a 500
        logger.exception("order-flow request failed")
        return _error(500, INTERNAL_ERROR_MESSAGE)


def trades_from_event(event: Any) -> list[dict[str, Any]]:
    """The non-empty list of trade objects carried by ``event``; BadRequest otherwise.

    ``event["trades"]`` wins; else ``event["body"]``: a dict, a JSON string, or
    base64 of JSON when ``event["isBase64Encoded"]`` is true (a boolean; absent or
    null is false, any other type is a bad request).
    """
    if not isinstance(event, dict):
        raise BadRequest("The event must be a JSON object")
    if "trades" in event:
        payload: Any = event
    elif event.get("body") is not None:
        payload = _decode_body(event["body"], _is_base64(event.get("isBase64Encoded")))
    else:
        raise BadRequest(NO_TRADES_MESSAGE)
    if not isinstance(payload, dict):
        raise BadRequest("The body must be a JSON object with a 'trades' list")
    trades = payload.get("trades")
    if trades is None or (isinstance(trades, list) and not trades):
        raise BadRequest(NO_TRADES_MESSAGE)
    if not isinstance(trades, list):
        raise BadRequest("'trades' must be a list of trade objects")
    first_bad = next((i for i, trade in enumerate(trades) if not isinstance(trade, dict)), None)
    if first_bad is not None:
        raise BadRequest(f"'trades' must be a list of trade objects: trade {first_bad + 1} is not")
    return trades


def _decode_body(body: Any, is_base64: bool) -> Any:
    """An API-Gateway body: a dict as is; text (base64 first when flagged) as JSON."""
    if isinstance(body, dict):
        return body
    if not isinstance(body, (str, bytes)):
        raise BadRequest("The body must be a JSON object with a 'trades' list")
    if is_base64:
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("The body is not valid base64") from None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The body is not UTF-8 text") from None
    if not body.strip():
        raise BadRequest(NO_TRADES_MESSAGE)
    try:
        return json.loads(body)
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


def _is_base64(flag: Any) -> bool:
    """``isBase64Encoded`` as API Gateway sends it: a JSON boolean (absent/null: false)."""
    if flag is None or isinstance(flag, bool):
        return bool(flag)
    raise BadRequest(f"'isBase64Encoded' must be true or false (a JSON boolean), not {json.dumps(flag)}")


def trades_frame(trades: list[dict[str, Any]]) -> pd.DataFrame:
    """The trades as a DataFrame, one row per trade, one column per field.

    An integer too large for a float (pandas 2.2 fails converting it) leaves the columns as
    Python objects, so that the metrics' own checks name the bad value (a 400)."""
    try:
        return pd.DataFrame.from_records(trades)
    except OverflowError:
        return pd.DataFrame(trades, dtype=object)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe records: NaN/NA -> None, numpy numbers -> Python numbers."""
    boxed = frame.astype(object)
    boxed = boxed.where(boxed.notna(), None)
    return [{str(k): _json_value(v) for k, v in row.items()} for row in boxed.to_dict("records")]


def _json_value(value: Any) -> Any:
    """One cell as a JSON-safe value (times as ISO text, non-finite numbers as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return value.isoformat()
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
