"""lambda_handler: every event shape the original accepted, every bad event, JSON-safe answers."""
from __future__ import annotations

import base64
import json
import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

import lambda_handler as handler_module
from lambda_handler import lambda_handler
from tests.test_metrics import FIXTURE_EXPECTED, fixture_trades, original_metrics

JSON_HEADERS = {"Content-Type": "application/json"}
NO_TRADES = "No trades: send a JSON object with a non-empty 'trades' list"
NOT_A_LIST = "'trades' must be a list of trade objects"


def integer_trades(n: int = 25, seed: int = 3) -> list[dict[str, Any]]:
    """Trades as a client sends them: plain JSON numbers, integer sizes."""
    rng = np.random.default_rng(seed)
    return [
        {
            "Price": 100 + int(rng.integers(-8, 8)) * 0.25,
            "Volume": int(rng.integers(1, 50)),
            "BidSize": int(rng.integers(0, 30)),
            "AskSize": int(rng.integers(0, 30)),
            "TradeType": int(rng.integers(1, 3)),
        }
        for _ in range(n)
    ]


def expected_answer(trades: list[dict[str, Any]]) -> dict[str, Any]:
    """What the original script answered: its formulas, the last CVD, the last 10 rows."""
    df = original_metrics(pd.DataFrame(trades))
    return {
        "latest_cvd": int(df["CVD"].iloc[-1]),
        "data": json.loads(df.tail(10).to_json(orient="records")),
    }


def event_shapes(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    text = json.dumps(payload)
    return {
        "trades in the event": payload,
        "body dict": {"body": payload},
        "body JSON string": {"body": text, "isBase64Encoded": False},
        "body base64": {"body": base64.b64encode(text.encode()).decode(), "isBase64Encoded": True},
    }


def ok_body(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 200, response
    assert response["headers"] == JSON_HEADERS
    body = json.loads(response["body"])
    assert set(body) == {"message", "latest_cvd", "unknown_side", "data"}
    assert body["message"] == "Order flow metrics computed"
    return body


@pytest.mark.parametrize("shape", list(event_shapes({})))
def test_each_event_shape_answers_like_the_original(shape: str) -> None:
    trades = integer_trades()
    body = ok_body(lambda_handler(event_shapes({"trades": trades})[shape], None))
    expected = expected_answer(trades)
    assert body["latest_cvd"] == expected["latest_cvd"]
    assert body["data"] == expected["data"]


def test_data_is_the_last_ten_rows_in_order() -> None:
    trades = integer_trades(n=23)
    body = ok_body(lambda_handler({"trades": trades}, None))
    assert len(body["data"]) == 10
    for row, trade in zip(body["data"], trades[-10:]):
        assert {k: row[k] for k in trade} == trade
    cvd = np.cumsum([t["Volume"] * (1 if t["TradeType"] == 1 else -1) for t in trades])
    assert [row["CVD"] for row in body["data"]] == cvd[-10:].tolist()
    assert body["latest_cvd"] == cvd[-1]


def test_fewer_than_ten_trades_return_them_all() -> None:
    trades = integer_trades(n=3)
    body = ok_body(lambda_handler({"trades": trades}, None))
    assert len(body["data"]) == 3


def test_fractional_sizes_answer_200_with_hand_checked_values() -> None:
    trades = json.loads(fixture_trades().to_json(orient="records"))
    body = ok_body(lambda_handler({"body": json.dumps({"trades": trades})}, None))
    assert body["latest_cvd"] == 5.0
    for column, expected in FIXTURE_EXPECTED.items():
        assert [row[column] for row in body["data"]] == expected, column
    assert body["data"][0]["Timestamp"] == "2024-03-01T09:30:05Z"


def test_missing_values_are_null_and_the_body_has_no_nan() -> None:
    trades = [
        {"Price": 100.0, "Volume": 1, "TradeType": 1, "BidSize": 4, "AskSize": 1},
        {"Price": 100.25, "Volume": 2.5, "TradeType": 2, "AskSize": 3, "Note": float("nan")},
    ]
    response = lambda_handler({"trades": trades}, None)
    body = ok_body(response)
    assert "NaN" not in response["body"]
    assert body["data"][1]["BidSize"] is None
    assert body["data"][1]["Imbalance"] is None
    assert body["data"][1]["Note"] is None
    assert body["data"][0]["Imbalance"] == 3
    assert body["latest_cvd"] == -1.5


def test_numbers_stay_numbers() -> None:
    body = ok_body(lambda_handler({"trades": integer_trades(n=2)}, None))
    for row in body["data"]:
        for column in ("Volume", "Aggressive_Buy", "Volume_Delta", "CVD", "Imbalance", "Price"):
            assert isinstance(row[column], (int, float)) and not isinstance(row[column], bool)


def good_trade(**fields: Any) -> dict[str, Any]:
    trade = {"Price": 100.0, "Volume": 2, "BidSize": 5, "AskSize": 3, "TradeType": 1}
    trade.update(fields)
    return trade


def without(key: str) -> dict[str, Any]:
    trade = good_trade()
    del trade[key]
    return trade


BAD_EVENTS = {
    "empty event": ({}, NO_TRADES),
    "body null": ({"body": None}, NO_TRADES),
    "body without trades": ({"body": json.dumps({"orders": []})}, NO_TRADES),
    "trades null": ({"trades": None}, NO_TRADES),
    "empty trades list": ({"trades": []}, NO_TRADES),
    "empty trades in a body": ({"body": json.dumps({"trades": []})}, NO_TRADES),
    "blank body": ({"body": "  "}, NO_TRADES),
    "malformed JSON": ({"body": '{"trades": [1,'},
                       "Malformed JSON in the body: Expecting value at line 1 column 15"),
    "bad base64": ({"body": "not base64!", "isBase64Encoded": True}, "The body is not valid base64"),
    "base64 of non-UTF-8": ({"body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True},
                            "The body is not UTF-8 text"),
    "base64 of malformed JSON": ({"body": base64.b64encode(b"{trades").decode(), "isBase64Encoded": True},
                                 "Malformed JSON in the body: Expecting property name enclosed in "
                                 "double quotes at line 1 column 2"),
    "body is a JSON list": ({"body": "[1, 2]"}, "The body must be a JSON object with a 'trades' list"),
    "body is a number": ({"body": 7}, "The body must be a JSON object with a 'trades' list"),
    "event is not an object": (["trades"], "The event must be a JSON object"),
    "trades is a string": ({"trades": "abc"}, NOT_A_LIST),
    "trades is an object": ({"trades": {"Volume": 1}}, NOT_A_LIST),
    "a trade is not an object": ({"trades": [good_trade(), 5]}, NOT_A_LIST + ": trade 2 is not"),
    "missing column": ({"trades": [without("TradeType"), without("TradeType")]},
                       "trades, column 'TradeType': missing column "
                       "(needed: Volume, TradeType, BidSize, AskSize)"),
    "missing book column": ({"body": json.dumps({"trades": [without("AskSize")]})},
                            "trades, column 'AskSize': missing column "
                            "(needed: Volume, TradeType, BidSize, AskSize)"),
    "non-numeric volume": ({"trades": [good_trade(), good_trade(Volume="lots")]},
                           "trades, column 'Volume', row 2: trade size is not a number (value 'lots')"),
    "negative volume": ({"trades": [good_trade(), good_trade(), good_trade(Volume=-4)]},
                        "trades, column 'Volume', row 3: trade size is negative (value -4)"),
    "null volume": ({"trades": [good_trade(Volume=None), good_trade()]},
                    "trades, column 'Volume', row 1: trade size is missing"),
    "boolean trade type": ({"trades": [good_trade(TradeType=True)]},
                           "trades, column 'TradeType', row 1: side codes must be 1/2, +1/-1 "
                           "or buy/sell, not booleans (value True)"),
    # client mistakes: 400, never 500
    "volume beyond a float": ({"body": json.dumps({"trades": [good_trade(), good_trade(Volume=10**309)]})},
                              "trades, column 'Volume', row 2: trade size is not finite "
                              f"(value {'1' + '0' * 39}... (310 characters))"),
    "bid size beyond a float": ({"body": json.dumps({"trades": [good_trade(BidSize=-(10**400))]})},
                                "trades, column 'BidSize', row 1: bid size is not finite "
                                f"(value {'-1' + '0' * 38}... (402 characters))"),
    "5,000-digit trade type": ({"body": '{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, '
                                        f'"TradeType": {"7" * 5000}}}]}}'},
                               "Malformed JSON in the body: a number has more than 4300 digits"),
    "100,000 nested brackets": ({"body": "[" * 100_000}, "Malformed JSON in the body: nested too deeply"),
    "isBase64Encoded as text": ({"body": json.dumps({"trades": [good_trade()]}), "isBase64Encoded": "false"},
                                "'isBase64Encoded' must be true or false (a JSON boolean), not \"false\""),
    "isBase64Encoded as a number": ({"body": "e30=", "isBase64Encoded": 1},
                                    "'isBase64Encoded' must be true or false (a JSON boolean), not 1"),
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_bad_events_answer_400_with_a_clear_message(case: str) -> None:
    event, message = BAD_EVENTS[case]
    response = lambda_handler(event, None)
    assert response["statusCode"] == 400
    assert response["headers"] == JSON_HEADERS
    # the original script's clients read "error"; "message" as in the 200 answer
    assert json.loads(response["body"]) == {"error": message, "message": message}


def test_a_null_isbase64encoded_is_false() -> None:
    text = json.dumps({"trades": [good_trade(Volume=7)]})
    assert ok_body(lambda_handler({"body": text, "isBase64Encoded": None}, None))["latest_cvd"] == 7


def test_trades_in_the_event_win_over_a_body() -> None:
    event = {"trades": [good_trade(Volume=7)], "body": "not json"}
    assert ok_body(lambda_handler(event, None))["latest_cvd"] == 7


def test_unexpected_failure_is_a_generic_500_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(frame: pd.DataFrame, **_: Any) -> pd.DataFrame:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(handler_module, "order_flow_metrics", broken)
    with caplog.at_level(logging.ERROR, logger="lambda_handler"):
        response = lambda_handler({"trades": [good_trade()]}, None)
    assert response["statusCode"] == 500
    assert response["headers"] == JSON_HEADERS
    assert json.loads(response["body"]) == {
        "error": "Internal error while computing order flow metrics",
        "message": "Internal error while computing order flow metrics",
    }
    assert "secret" not in response["body"]
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


# -- integers beyond what float64 holds exactly: refused, never wrapped ---------------------------------------

EXACT = "an integer beyond 2^53 = 9007199254740992, which float64 does not hold exactly"


@pytest.mark.parametrize("trades, message", [
    ([good_trade(Volume=2**63)],
     f"trades, column 'Volume', row 1: trade size is {EXACT} (value 9223372036854775808)"),
    ([good_trade(), good_trade(Volume=2**62), good_trade(Volume=2**62)],
     f"trades, column 'Volume', row 2: trade size is {EXACT} (value 4611686018427387904)"),
    ([good_trade(BidSize=2**63 - 1, AskSize=0)],
     f"trades, column 'BidSize', row 1: bid size is {EXACT} (value 9223372036854775807)"),
    ([good_trade(AskSize=2**53)], f"trades, column 'AskSize', row 1: ask size is {EXACT} (value 9007199254740992)"),
    # each size is exact, their running sum is not: 2^52 + 2^52 = 2^53
    ([good_trade(Volume=2**52), good_trade(Volume=2**52)],
     "trades, column 'Volume', row 2: the CVD reaches 2^53 = 9007199254740992 here, beyond the integers "
     "float64 holds exactly (value 4503599627370496)"),
    ([good_trade(Volume=1e308), good_trade(Volume=1e308)],
     "trades, column 'Volume', row 2: the CVD overflows float64 here (value 1e+308)"),
])
def test_sizes_beyond_exact_numbers_answer_400(trades: list[dict[str, Any]], message: str) -> None:
    response = lambda_handler({"body": json.dumps({"trades": trades})}, None)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"]) == {"error": message, "message": message}


def test_the_largest_exact_integers_are_computed_exactly() -> None:
    top = 2**53 - 1
    trades = [good_trade(Volume=top), good_trade(Volume=top, TradeType=2), good_trade(Volume=top - 5),
              good_trade(BidSize=top, AskSize=0)]
    body = ok_body(lambda_handler({"body": json.dumps({"trades": trades})}, None))
    assert body["latest_cvd"] == top - 5 + 2
    assert [row["CVD"] for row in body["data"]] == [top, 0, top - 5, top - 3]
    assert body["data"][3]["Imbalance"] == top


# -- trades of neither side are counted; prices must be positive numbers -------------------------------------


def test_trades_of_neither_side_are_counted() -> None:
    kinds = [1, 3, 0, 1.5, float("nan"), 2, 1, None]
    trades = [good_trade(Volume=2**n, TradeType=k) for n, k in enumerate(kinds)]
    body = ok_body(lambda_handler({"trades": trades}, None))
    assert body["unknown_side"] == 5  # 3, 0, 1.5, NaN and null: the original's formulas count them nowhere
    assert body["latest_cvd"] == 1 - 32 + 64
    assert [row["Volume_Delta"] for row in body["data"]] == [1, 0, 0, 0, 0, -32, 64, 0]
    assert ok_body(lambda_handler({"trades": integer_trades()}, None))["unknown_side"] == 0


@pytest.mark.parametrize("price, problem", [
    ("abc", "price is not a number (value 'abc')"),
    (-1, "price is not positive (value -1.0)"),  # a float column: 100.0, -1, -5
    (0, "price is not positive (value 0.0)"),
    (float("nan"), "price is missing"),
    (None, "price is missing"),
    (float("inf"), "price is not finite (value inf)"),
    (True, "price is not a number (value True)"),
])
def test_prices_must_be_positive_numbers(price: Any, problem: str) -> None:
    trades = [good_trade(), good_trade(Price=price), good_trade(Price=-5)]
    response = lambda_handler({"trades": trades}, None)
    assert response["statusCode"] == 400, response
    message = f"trades, column 'Price', row 2: {problem}"
    assert json.loads(response["body"]) == {"error": message, "message": message}


def test_a_trade_without_a_price_among_priced_ones_is_refused() -> None:
    response = lambda_handler({"trades": [good_trade(), without("Price")]}, None)
    assert json.loads(response["body"])["error"] == "trades, column 'Price', row 2: price is missing"


# -- unknown keys cost nothing; bounds on trades and on the body ---------------------------------------------


def test_unknown_keys_cost_nothing() -> None:
    n = 20_000
    trades = [good_trade(Volume=1, TradeType=1 if i % 4 else 2, **{f"extra_{i}": i}) for i in range(n)]
    assert list(handler_module.trades_frame(trades).columns) == ["Price", "Volume", "TradeType", "BidSize", "AskSize"]
    body = ok_body(lambda_handler({"body": json.dumps({"trades": trades})}, None))
    assert body["latest_cvd"] == 15_000 - 5_000
    assert [row[f"extra_{i}"] for i, row in zip(range(n - 10, n), body["data"])] == list(range(n - 10, n))
    assert "extra_0" not in body["data"][0]


def test_too_many_trades_answer_413() -> None:
    trades = [good_trade()] * 4
    assert ok_body(lambda_handler({"trades": trades[:3]}, None, max_trades=3))["latest_cvd"] == 6
    response = lambda_handler({"body": json.dumps({"trades": trades})}, None, max_trades=3)
    assert response["statusCode"] == 413
    message = "Too many trades: 4 in the request, at most 3"
    assert json.loads(response["body"]) == {"error": message, "message": message}
    limit = handler_module.MAX_TRADES
    response = lambda_handler({"trades": [good_trade()] * (limit + 1)}, None)
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["error"] == f"Too many trades: {limit + 1:,} in the request, at most {limit:,}"


def test_a_body_too_large_answers_413() -> None:
    text = json.dumps({"trades": [good_trade()]})
    size = len(text)
    assert ok_body(lambda_handler({"body": text}, None, max_body_bytes=size))["latest_cvd"] == 2
    encoded = base64.b64encode(text.encode()).decode()
    assert ok_body(lambda_handler({"body": encoded, "isBase64Encoded": True}, None, max_body_bytes=size))
    message = f"The body is too large: {size:,} bytes, at most {size - 1:,}"
    for event in ({"body": text}, {"body": text.encode()}, {"body": encoded, "isBase64Encoded": True}):
        response = lambda_handler(event, None, max_body_bytes=size - 1)
        assert response["statusCode"] == 413
        assert json.loads(response["body"]) == {"error": message, "message": message}
    big = handler_module.MAX_BODY_BYTES + 1
    response = lambda_handler({"body": " " * big}, None)
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["error"] == (
        f"The body is too large: {big:,} bytes, at most {handler_module.MAX_BODY_BYTES:,}")
    # base64 longer than any body within the bound is refused before it is decoded
    response = lambda_handler({"body": "A" * (4 * big // 3 + 8), "isBase64Encoded": True}, None)
    assert response["statusCode"] == 413


# -- text that is not Unicode, a side code beyond 64 bits: 400, never 500 ------------------------------------


@pytest.mark.parametrize("body, message", [
    ('{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, "TradeType": 1, "x": "\\ud800"}]}',
     "trade 1, field 'x': text that is not valid Unicode (a lone surrogate)"),
    ('{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, "TradeType": 1}, '
     '{"Price": 1, "Volume": "\\udc00", "BidSize": 1, "AskSize": 1, "TradeType": 1}]}',
     "trade 2, field 'Volume': text that is not valid Unicode (a lone surrogate)"),
    ('{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, "TradeType": 1, "\\ud800": [1]}]}',
     "trade 1, field '\\ud800': text that is not valid Unicode (a lone surrogate)"),
    ('{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, "TradeType": 1180591620717411303424}]}',
     "trades, column 'TradeType', row 1: side code is an integer beyond 64 bits (value 1180591620717411303424)"),
])
def test_bad_text_and_huge_codes_answer_400(body: str, message: str) -> None:
    response = lambda_handler({"body": body}, None)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"]) == {"error": message, "message": message}


def test_a_surrogate_pair_is_text_and_is_echoed() -> None:
    body = '{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, "TradeType": 1, "x": "\\ud83d\\ude00"}]}'
    assert ok_body(lambda_handler({"body": body}, None))["data"][0]["x"] == "\U0001F600"


def test_non_finite_numbers_nested_in_an_echoed_field_are_null() -> None:
    body = '{"trades": [{"Price": 1, "Volume": 1, "BidSize": 1, "AskSize": 1, "TradeType": 1, "x": [1, NaN, {"y": Infinity}]}]}'
    assert ok_body(lambda_handler({"body": body}, None))["data"][0]["x"] == [1, None, {"y": None}]


@pytest.mark.parametrize("shape", ["trades in the event", "body dict", "body JSON string"])
def test_a_lone_surrogate_is_refused_in_every_event_shape(shape: str) -> None:
    trades = [good_trade(), good_trade(Note={"deep": ["ok", "\udfff"]})]  # a Python str, not a JSON escape
    response = lambda_handler(event_shapes({"trades": trades})[shape], None)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"] == "trade 2, field 'Note': text that is not valid Unicode (a lone surrogate)"
