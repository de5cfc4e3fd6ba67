"""Text safe to log: URL credentials hidden, control characters escaped, one bounded line.

Exception messages of database drivers and HTTP clients quote the URL they failed on, with its
user and password; ids in a request path may carry NUL or newlines. Neither reaches a log line
(nor any response) as is.
"""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s]+@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def redact_urls(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` as ``scheme://***@``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def escape_control(text: str) -> str:
    r"""Control characters (NUL, newlines, escapes) as ``\xNN``: one harmless log line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def loggable(text: object, limit: int = 500) -> str:
    """``text`` redacted, escaped and cut to ``limit`` characters, for a log line."""
    clean = escape_control(redact_urls(str(text)))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def error_line(exc: BaseException, limit: int = 500) -> str:
    """An exception as ``Class: message``, safe to log (never to answer with)."""
    return loggable(f"{type(exc).__name__}: {exc}", limit)
