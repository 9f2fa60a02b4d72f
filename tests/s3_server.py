"""A real S3-compatible server on localhost for the tests and the benchmark: moto's server
(``moto[server]``) in a process of its own, on a port the system picks, with moto's request
recorder, which logs every request the server receives (method, URL, headers such as
``Range``): what the tests count.

Nothing here talks to AWS: the server keeps its buckets in its memory and dies with the
fixture; the credentials are dummies, set for the duration of the fixture only.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow.fs as pafs

# What the code under test reads from the environment while the server runs: dummy credentials
# (the AWS chain stops at them, never asking an instance-metadata service) and the server's URL.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"}


def moto_available() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    bucket: str
    key: str
    query: str
    range: str | None
    body_bytes: int

    @property
    def range_bytes(self) -> int | None:
        """The bytes a ``Range: bytes=a-b`` asks for."""
        if not self.range:
            return None
        start, _, end = self.range.partition("=")[2].partition("-")
        return int(end) - int(start) + 1


class S3Server:
    """``python -m moto.server`` on 127.0.0.1, port 0 (the one it binds is read from its log)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.recording_file = self.folder / "requests.jsonl"
        self.log = self.folder / "server.log"
        env = {**os.environ, "MOTO_RECORDER_FILEPATH": str(self.recording_file), **CREDENTIALS}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.folder)
        self.endpoint = self._wait_for_port()

    def _wait_for_port(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the S3 server stopped: {self.log.read_text()}")
            found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found:
                return found.group(1)
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the S3 server did not start in {timeout:.0f} s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # ------------------------------------------------------------- buckets

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(endpoint_override=self.endpoint, region="us-east-1", access_key="testing",
                                 secret_key="testing", session_token="testing", allow_bucket_creation=True)

    def new_bucket(self, prefix: str = "ticks") -> str:
        """A new empty bucket, its name unique to the caller."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.filesystem().create_dir(name)
        return name

    def put(self, uri: str, data: bytes) -> None:
        """``data`` as the object, byte for byte (pyarrow would compress by the name: .gz, .zst ...)."""
        with self.filesystem().open_output_stream(uri.removeprefix("s3://"), compression=None) as out:
            out.write(data)

    def get(self, uri: str) -> bytes:
        with self.filesystem().open_input_stream(uri.removeprefix("s3://"), compression=None) as fh:
            return fh.read()

    def keys(self, uri: str) -> list[str]:
        """The object keys below ``s3://bucket/prefix``, relative to it."""
        base = uri.removeprefix("s3://").rstrip("/")
        infos = self.filesystem().get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        return sorted(i.path[len(base) + 1:] for i in infos if i.type == pafs.FileType.File)

    # ------------------------------------------------------------- the request log

    def _api(self, action: str) -> bytes:
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/recorder/{action}", timeout=30) as answer:
            return answer.read()

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Request]]:
        """The requests the server receives inside the block, filled in at its end."""
        seen: list[Request] = []
        self._api("reset-recording")
        self._api("start-recording")
        try:
            yield seen
        finally:
            self._api("stop-recording")
            seen.extend(_parse(line) for line in self._api("download-recording").decode().splitlines() if line.strip())


def _parse(line: str) -> Request:
    entry = json.loads(line)
    url = urllib.parse.urlsplit(entry["url"])
    bucket, _, key = url.path.lstrip("/").partition("/")
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    body = entry.get("body") or ""
    size = len(base64.b64decode(body)) if entry.get("body_encoded") else len(body)
    return Request(entry["method"], urllib.parse.unquote(bucket), urllib.parse.unquote(key), url.query,
                   headers.get("range"), size)


@contextlib.contextmanager
def environment(endpoint: str | None) -> Iterator[None]:
    """The dummy credentials (and ``AWS_ENDPOINT_URL`` when given) in the environment inside the block."""
    values = dict(CREDENTIALS, **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}))
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
