"""The serverless handler's object-created event, end to end on a real S3-compatible server on
localhost (moto's, tests/s3_server.py): a tick file uploaded under a prefix is read, its bars and
the original per-trade metrics are written back under the output prefix as Parquet and JSON, and a
bad file gives an error object instead of a crash."""
from __future__ import annotations

import io
import json
import urllib.parse

import pandas as pd
import pyarrow.parquet as pq
import pytest

from data import load_ticks, make_bars, order_flow_metrics
from lambda_handler import (
    BARS_ENV,
    INPUT_PREFIX_ENV,
    OUTPUT_PREFIX_ENV,
    handle_object_created,
    lambda_handler,
    object_events,
)
from tests.conftest import FIXTURES


def s3_event(bucket: str, *keys: str) -> dict:
    """An S3 notification as the service sends it: keys URL-encoded (a space as '+')."""
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                         "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 1}}}
                        for key in keys]}


def parquet(server, uri: str) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(server.get(uri))).to_pandas()


@pytest.fixture
def prefixes(monkeypatch):
    monkeypatch.setenv(INPUT_PREFIX_ENV, "incoming/")
    monkeypatch.setenv(OUTPUT_PREFIX_ENV, "results/")
    monkeypatch.delenv(BARS_ENV, raising=False)


def test_an_uploaded_tick_file_gets_its_bars_and_metrics_written_back(s3, prefixes):
    bucket = s3.new_bucket()
    key = "incoming/2024/03 01 ticks.csv"  # spaces: '+' in the event
    s3.put(f"s3://{bucket}/{key}", (FIXTURES / "ticks_small.csv").read_bytes())
    answer = lambda_handler(s3_event(bucket, key), None)
    out = f"s3://{bucket}/results/2024/03 01 ticks.csv"
    assert answer == {"statusCode": 200, "results": [
        {"source": f"s3://{bucket}/{key}", "status": "ok", "ticks": 10, "bars": 3,
         "written": [f"{out}.bars.parquet", f"{out}.metrics.parquet", f"{out}.json"]}]}
    assert s3.keys(f"s3://{bucket}/results") == ["2024/03 01 ticks.csv.bars.parquet", "2024/03 01 ticks.csv.json",
                                                 "2024/03 01 ticks.csv.metrics.parquet"]
    ticks = load_ticks(FIXTURES / "ticks_small.csv")
    bars = parquet(s3, f"{out}.bars.parquet").set_index("timestamp")
    pd.testing.assert_frame_equal(bars, make_bars(ticks, "1min"), check_names=False, check_freq=False)
    # the fixture's minutes, bars right-closed and stamped at their end: (09:30, 09:31] holds 2+3+5+1.5 = 11.5
    # with delta 2+3-5-1.5 = -1.5; (09:31, 09:32] 4+2+6 = 12 (the 4 of unknown side), delta 8; (09:32, 09:33] 6.5, -1.5
    assert bars["volume"].tolist() == [11.5, 12.0, 6.5] and bars["delta"].tolist() == [-1.5, 8.0, -1.5]
    metrics = parquet(s3, f"{out}.metrics.parquet")
    pd.testing.assert_frame_equal(metrics, order_flow_metrics(ticks))
    assert metrics["CVD"].tolist() == [2.0, 5.0, 0.0, -1.5, -1.5, 0.5, 6.5, 3.5, 2.5, 5.0]
    summary = json.loads(s3.get(f"{out}.json"))
    assert summary["message"] == "Order flow metrics computed" and summary["latest_cvd"] == 5.0
    assert (summary["ticks"], summary["bars"], summary["bar_spec"], summary["unknown_side"]) == (10, 3, "1min", 1)
    assert summary["outputs"] == {"bars": f"{out}.bars.parquet", "metrics": f"{out}.metrics.parquet"}
    assert summary["load_report"]["source"] == f"s3://{bucket}/{key}" and summary["load_report"]["rows_kept"] == 10
    assert [row["CVD"] for row in summary["data"]] == [2.0, 5.0, 0.0, -1.5, -1.5, 0.5, 6.5, 3.5, 2.5, 5.0]
    assert summary["data"][0]["timestamp"] == "2024-03-01T09:30:05+00:00"


def test_a_bad_file_gets_an_error_object_and_no_crash(s3, prefixes):
    bucket = s3.new_bucket()
    s3.put(f"s3://{bucket}/incoming/bad.csv", b"timestamp,price,size,side\n2024-03-01T09:30:05Z,100,1,1\n"
                                               b"2024-03-01T09:30:06Z,-5,1,1\n")
    s3.put(f"s3://{bucket}/incoming/good.csv", (FIXTURES / "ticks_small.csv").read_bytes())
    answer = lambda_handler(s3_event(bucket, "incoming/bad.csv", "incoming/good.csv"), None)
    text = f"s3://{bucket}/incoming/bad.csv, column 'price', row 2: price must be > 0 (value -5.0)"
    assert answer["statusCode"] == 200
    assert answer["results"][0] == {"source": f"s3://{bucket}/incoming/bad.csv", "status": "error", "error": text,
                                    "written": [f"s3://{bucket}/results/bad.csv.error.json"]}
    assert answer["results"][1]["status"] == "ok"  # the next record of the event is served all the same
    assert json.loads(s3.get(f"s3://{bucket}/results/bad.csv.error.json")) == {
        "error": text, "message": text, "source": f"s3://{bucket}/incoming/bad.csv"}
    assert not [k for k in s3.keys(f"s3://{bucket}/results") if k.startswith("bad.csv.") and not k.endswith("error.json")]
    # fixed and uploaded again: the results replace the error object
    s3.put(f"s3://{bucket}/incoming/bad.csv", (FIXTURES / "ticks_small.csv").read_bytes())
    assert lambda_handler(s3_event(bucket, "incoming/bad.csv"), None)["results"][0]["status"] == "ok"
    assert [k for k in s3.keys(f"s3://{bucket}/results") if k.startswith("bad.csv.")] == [
        "bad.csv.bars.parquet", "bad.csv.json", "bad.csv.metrics.parquet"]
    # and broken again: the error object replaces the results
    s3.put(f"s3://{bucket}/incoming/bad.csv", b"not,a,tick,file\n1,2,3,4\n")
    result = lambda_handler(s3_event(bucket, "incoming/bad.csv"), None)["results"][0]
    assert result["status"] == "error" and "no price column" in result["error"]
    assert [k for k in s3.keys(f"s3://{bucket}/results") if k.startswith("bad.csv.")] == ["bad.csv.error.json"]


def test_results_and_keys_outside_the_input_prefix_are_passed_over(s3, prefixes):
    bucket = s3.new_bucket()
    s3.put(f"s3://{bucket}/results/x.csv", (FIXTURES / "ticks_small.csv").read_bytes())
    s3.put(f"s3://{bucket}/elsewhere/x.csv", (FIXTURES / "ticks_small.csv").read_bytes())
    answer = lambda_handler(s3_event(bucket, "results/x.csv", "elsewhere/x.csv"), None)
    assert [r["status"] for r in answer["results"]] == ["skipped", "skipped"]
    assert s3.keys(f"s3://{bucket}/results") == ["x.csv"]  # nothing written: no loop on the results


def test_another_output_bucket_and_bar_spec_from_the_environment(s3, monkeypatch):
    bucket, results = s3.new_bucket(), s3.new_bucket("results")
    monkeypatch.setenv("ORDERFLOW_OUTPUT_BUCKET", results)
    monkeypatch.setenv(BARS_ENV, "5t")
    monkeypatch.delenv(INPUT_PREFIX_ENV, raising=False)
    monkeypatch.delenv(OUTPUT_PREFIX_ENV, raising=False)
    s3.put(f"s3://{bucket}/t.csv", (FIXTURES / "ticks_small.csv").read_bytes())
    event = {"version": "0", "source": "aws.s3", "detail-type": "Object Created",  # the same through EventBridge
             "detail": {"bucket": {"name": bucket}, "object": {"key": "t.csv", "size": 1}}}
    answer = lambda_handler(event, None)
    assert answer["results"][0]["bars"] == 2  # ten trades in bars of five
    assert s3.keys(f"s3://{results}/orderflow") == ["t.csv.bars.parquet", "t.csv.json", "t.csv.metrics.parquet"]
    assert json.loads(s3.get(f"s3://{results}/orderflow/t.csv.json"))["bar_spec"] == "5t"


def test_object_events_reads_only_object_created_records():
    event = s3_event("b", "a b.csv", "dir/x%.csv")
    assert object_events(event) == [("b", "a b.csv"), ("b", "dir/x%.csv")]
    removed = {"Records": [{**event["Records"][0], "eventName": "ObjectRemoved:Delete"}]}
    assert object_events(removed) == [] and object_events({"trades": []}) == [] and object_events([1]) == []
    # an event of another kind still gets the original answer
    assert lambda_handler(removed, None)["statusCode"] == 400
    assert handle_object_created(removed) == {"statusCode": 200, "results": []}
