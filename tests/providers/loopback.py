"""A small HTTPS server on 127.0.0.1 for the live-collection tests.

It answers with whatever its handler returns and records every request. It listens on loopback
only, on a port the OS picks, and stops when the test's fixture ends. The fake clouds behind it
(fake_gcp, fake_azure) share the route table and the queue of faults below.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from tests.providers.tlsca import LoopbackCA


@dataclass
class Request:
    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]
RouteHandler = Callable[[Request, re.Match[str]], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str  # what faults and forbidden are keyed by
    handler: RouteHandler


def route(method: str, pattern: str, name: str, handler: RouteHandler) -> Route:
    return Route(method, re.compile(pattern), name, handler)


def find_route(routes: Sequence[Route], req: Request) -> tuple[Route, re.Match[str]] | None:
    """The first route with the request's method whose pattern matches its path."""
    for r in routes:
        m = r.pattern.match(req.path)
        if m and req.method == r.method:
            return r, m
    return None


class Faults(dict[str, list[Reply]]):
    """Error replies queued per route key: the next request to that route gets the first one."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def take(self, key: str) -> Reply | None:
        with self._lock:
            queued = self.get(key)
            return queued.pop(0) if queued else None


class _Server(ThreadingHTTPServer):
    """Connections a client keeps alive are hung up when the server stops: their threads would
    otherwise live until the client is garbage-collected, and a test measuring garbage that ran
    just then would see the whole server freed under it."""

    daemon_threads = False  # server_close() joins them

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def hang_up(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for conn in open_now:
            # The plain socket's shutdown: the TLS layer belongs to the connection's thread.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)


class LoopbackServer:
    """``with LoopbackServer(ca, handler) as server: server.base`` (https://127.0.0.1:PORT)."""

    def __init__(self, ca: LoopbackCA, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(
                    method=self.command,
                    path=unquote(parts.path),
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with outer._lock:
                    outer.requests.append(req)
                reply = outer.handler(req)
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        self._server = _Server(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(ca.cert_pem), str(ca.key_pem))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.hang_up()
        self._server.server_close()  # joins the connection threads
        self._thread.join(timeout=10)

    def calls(self, method: str, path_part: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]


class Fake(Protocol):
    base: str  # the server's own URL: the fake's next links and metadata point at it

    def __call__(self, req: Request) -> Reply: ...


FakeT = TypeVar("FakeT", bound=Fake)


@contextmanager
def serve(ca: LoopbackCA, fake: Fake) -> Iterator[LoopbackServer]:
    """``fake`` on a loopback server, told its own base URL."""
    with LoopbackServer(ca, fake) as server:
        fake.base = server.base
        yield server


@dataclass
class Site(Generic[FakeT]):
    """A fake cloud being served: what a test sets up and then looks at."""

    fake: FakeT
    server: LoopbackServer

    @property
    def base(self) -> str:
        return self.server.base
