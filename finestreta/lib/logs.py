"""Structured logs (ADR 38): one JSON object per line in production (`LOG_FORMAT=json`, the
default with DEBUG off), readable text in development. Every line logged while a request or a
WebSocket connection is handled carries its ids: `request_id` (taken from the reverse proxy's
X-Request-Id when it sends a sane one, made here otherwise, and returned in the response's
X-Request-Id), `call_id` (the video room's public id, on its WebSocket connections) and
`organisation` (the tenant's slug in the address)."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
call_id: contextvars.ContextVar[str] = contextvars.ContextVar("call_id", default="")
organisation: contextvars.ContextVar[str] = contextvars.ContextVar("organisation", default="")

CONTEXT = {"request_id": request_id, "call_id": call_id, "organisation": organisation}
# What a proxy's id may look like to be kept (nginx's $request_id is 32 hex digits): anything
# else (too long, other characters, a newline to forge log lines) is replaced.
SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def new_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The proxy's request id if it is sane, or a new one."""
    return header if header and SANE_ID.fullmatch(header) else new_id()


def bind(**values: str) -> list[tuple[contextvars.ContextVar[str], contextvars.Token[str]]]:
    """Set some of the context's ids; returns the tokens for `unbind`."""
    return [(CONTEXT[name], CONTEXT[name].set(value)) for name, value in values.items()]


def unbind(tokens: list[tuple[contextvars.ContextVar[str], contextvars.Token[str]]]) -> None:
    for var, token in reversed(tokens):
        var.reset(token)


class ContextFilter(logging.Filter):
    """Adds the ids of the moment to each record (only those that are set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            value = var.get()
            if value and not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(_JsonFormatter):
    """time (UTC, ISO 8601), level, logger, message, then the ids and any `extra` fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)


def configuration(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting. uvicorn's and the task worker's loggers go through the same handler,
    so that every line of a process has one format."""
    formatter = (
        {"()": "finestreta.lib.logs.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["context"],
    }
    through = {"handlers": ["console"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "finestreta.lib.logs.ContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # fpdf2 subsets the receipts' font with fontTools, which tells every glyph at INFO.
            "fontTools": {"level": "WARNING"},
            "uvicorn": {**through, "level": level},
            "uvicorn.error": {**through, "level": level},
            "uvicorn.access": {**through, "level": level},
        },
    }
