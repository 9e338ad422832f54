"""A local HTTP server on 127.0.0.1 that fails on purpose, alone or in front of the platform.

``plan(n, request)`` says what to do with the n-th request (1-based): ``"proxy"`` (forward to
the upstream and relay), ``"drop"`` (close without an answer), ``"hang"`` (no answer for 2 s), ``"complete-then-cut"``
(forward, read the whole answer, then close: the request was done, its response lost), or a
``(status, headers, body)`` answer.
"""

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, NamedTuple, Optional


class Seen(NamedTuple):
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes


def error_answer(status: int, code: str, headers: Optional[Dict[str, str]] = None) -> tuple:
    body = {"error": {"code": code, "message": "A %s error." % code, "request_id": "req_faulty"}}
    return (status, dict({"Request-Id": "req_faulty"}, **(headers or {})), body)


class FaultyServer:
    def __init__(self, plan: Callable[[int, Seen], Any], upstream: Optional[str] = None) -> None:
        self.plan = plan
        self.upstream = upstream
        self.seen: List[Seen] = []
        self._lock = threading.Lock()
        faulty = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                faulty._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # dropped connections on purpose

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FaultyServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        seen = Seen(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.seen.append(seen)
            n = len(self.seen)
        plan = self.plan(n, seen)
        if plan == "drop":
            return self._cut(handler)
        if plan == "hang":
            time.sleep(2)
            return self._cut(handler)
        if isinstance(plan, tuple):
            status, headers, payload = plan
            data = json.dumps(payload).encode() if payload is not None else b""
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return None
        status, headers, data = self._forward(seen)
        if plan == "complete-then-cut":
            return self._cut(handler)
        handler.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return None

    def _cut(self, handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _forward(self, seen: Seen) -> tuple:
        assert self.upstream, "no upstream to proxy to"
        headers = {
            k: v
            for k, v in seen.headers.items()
            if k not in ("host", "connection", "content-length", "accept-encoding")
        }
        req = urllib.request.Request(
            self.upstream + seen.path, data=seen.body or None, headers=headers, method=seen.method
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, list(res.headers.items()), res.read()
        except urllib.error.HTTPError as error:
            return error.code, list(error.headers.items()), error.read()
