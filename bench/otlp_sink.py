"""A span sink for the tracing benchmark: an OTLP/HTTP (protobuf) trace endpoint that counts
the spans it is sent, per service, and keeps nothing else.

It runs as a process of its own, so that its CPU (reading and parsing what the services
send) is measured apart from theirs. A real collector would cost more; what the services
spend to record, encode and send their spans is the same.

    python -m bench.otlp_sink --port N      # POST /v1/traces; GET /counts → JSON
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from kundonline_devstack.ports import free_port


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: Counter[str] = Counter()
        self.posts = 0
        self.bytes = 0

    def take(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest.FromString(body)
        spans: Counter[str] = Counter()
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            spans[service] += sum(len(s.spans) for s in resource_spans.scope_spans)
        with self.lock:
            self.spans.update(spans)
            self.posts += 1
            self.bytes += len(body)

    def as_json(self) -> bytes:
        with self.lock:
            document = {
                "spans": dict(self.spans),
                "total": sum(self.spans.values()),
                "posts": self.posts,
                "bytes": self.bytes,
            }
        return json.dumps(document).encode()


def serve(port: int) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    counts = Counts()
    reply = ExportTraceServiceResponse().SerializeToString()

    class Handler(BaseHTTPRequestHandler):
        # Kept-alive connections, as the exporters keep theirs: one thread per service.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            counts.take(body)
            self.answer(reply, "application/x-protobuf")

        def do_GET(self) -> None:
            self.answer(counts.as_json(), "application/json")

        def answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


@dataclass
class Sink:
    url: str
    pid: int

    def counts(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/counts", timeout=10).json()
        return result


@contextlib.contextmanager
def running(timeout: float = 30) -> Iterator[Sink]:
    """The sink as a process of this one's, until the block ends."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", "--port", str(port)])
    sink = Sink(f"http://127.0.0.1:{port}", process.pid)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                sink.counts()
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OTLP sink did not start")
            time.sleep(0.05)
        yield sink
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
