"""Logging setup for service entry points: text or JSON lines with request and search ids.

Only ``__main__`` modules call :func:`configure`; library modules just use
``logging.getLogger(__name__)``. The ids come from context variables set by the server's
request-id interceptor and by the orchestrator's searches.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
search_id: contextvars.ContextVar[str] = contextvars.ContextVar("search_id", default="")


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id.get()
        record.search_id = search_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the fields of STYLE.md §10."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": getattr(record, "service", ""),
            "request_id": getattr(record, "request_id", ""),
            "search_id": getattr(record, "search_id", ""),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(service: str, level: str = "INFO", fmt: str = "text") -> None:
    """Install one stderr handler on the root logger (replacing earlier ones)."""
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter(service))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(service)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
