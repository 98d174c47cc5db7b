"""Prometheus helpers: idempotent metric constructors, standard buckets, the metrics exporter.

Services declare their metric objects in their own ``metrics.py`` through these constructors,
so building two servers in one process (tests) reuses the same collectors.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer

TACTIC_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
LONG_BUCKETS = (*TACTIC_BUCKETS, 300)
SEARCH_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 3600)

_lock = threading.Lock()
_metrics: dict[str, Any] = {}


def _get_or_create(kind: type, name: str, doc: str, labels: tuple[str, ...], **kw: Any) -> Any:
    with _lock:
        existing = _metrics.get(name)
        if existing is None:
            existing = kind(name, doc, labels, registry=REGISTRY, **kw)
            _metrics[name] = existing
        return existing


def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
    return _get_or_create(Counter, name, doc, labels)  # type: ignore[no-any-return]


def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return _get_or_create(Gauge, name, doc, labels)  # type: ignore[no-any-return]


def histogram(
    name: str, doc: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = LONG_BUCKETS
) -> Histogram:
    return _get_or_create(Histogram, name, doc, labels, buckets=buckets)  # type: ignore[no-any-return]


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: the hot paths (every verifier call) look a
    labelled series up once instead of on every call (``labels`` costs some microseconds)."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def build_info(service: str, version: str, lean_version: str = "") -> None:
    """Set ``harcopa_build_info{service, version, lean_version}`` to 1 (lean_version may be "")."""
    info = gauge(
        "harcopa_build_info",
        "Always 1; labels describe the build.",
        ("service", "version", "lean_version"),
    )
    info.labels(service, version, lean_version).set(1)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged (they come every few seconds)."""


def _guarded(app: Callable[..., Iterable[bytes]], token: str) -> Callable[..., Iterable[bytes]]:
    """``app`` behind ``Authorization: Bearer <token>``, compared in constant time."""
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
        if hmac.compare_digest(given, expected):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
        )
        return [b"missing or wrong bearer token\n"]

    return guarded


def start_exporter(
    host: str, port: int, registry: CollectorRegistry = REGISTRY, *, token: str | None = None
) -> tuple[Any, int]:
    """Serve /metrics on a background thread (behind the bearer ``token`` when given); returns
    (server, bound port).

    ``*_created`` series are switched off for the whole process: Prometheus has no use for them
    and they double the series count of every counter and histogram.
    """
    disable_created_metrics()  # type: ignore[no-untyped-call]
    app = make_wsgi_app(registry)
    if token:
        app = _guarded(app, token)
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return server, int(server.server_port)
