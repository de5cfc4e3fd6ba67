"""The served model behind one atomic reference, swapped when the registry alias moves.

A poll thread asks the registry which version the alias points at; a new version is loaded
completely *before* the reference is replaced, so a request sees either the old model or the
new one, never a half-loaded one. When the registry cannot be reached the last good model keeps
serving and :attr:`Champion.registry_error` says so: a fixed reason and the error's class, never
the exception's text, which may quote a URL with its password.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models.model import LatePaymentModel
from serving.redact import error_line

log = logging.getLogger("precollect.serving")

Loader = Callable[[str], tuple[LatePaymentModel, str]]
Resolver = Callable[[str], str]
Describer = Callable[[str, LatePaymentModel], dict[str, Any]]


@dataclass(frozen=True)
class Served:
    """A loaded model version and what the service says about it."""

    model: LatePaymentModel
    version: str
    loaded_at: datetime
    info: dict[str, Any] = field(default_factory=dict)


class Champion:
    """Holds the current :class:`Served` model; :meth:`refresh` follows the alias."""

    def __init__(
        self, alias: str, resolve: Resolver, load: Loader, describe: Describer | None = None
    ) -> None:
        self.alias = alias
        self._resolve = resolve
        self._load = load
        self._describe = describe
        self._current: Served | None = None
        self._lock = threading.Lock()  # one refresh at a time; readers never take it
        self.registry_error: str | None = None
        self.checked_at: datetime | None = None

    @property
    def current(self) -> Served | None:
        return self._current

    def refresh(self) -> bool:
        """Load the alias's version if it changed. Returns True when the model was swapped."""
        with self._lock:
            try:
                version = self._resolve(self.alias)
                current = self._current
                if current is not None and current.version == version:
                    self.registry_error = None
                    return False
                model, version = self._load(version)
                info = self._describe(version, model) if self._describe else {}
            except Exception as exc:  # registry down, alias missing, artifact unreadable
                # answers say only this fixed reason and the class; the text (it quotes URLs
                # with their credentials, or SQL) goes to the log, redacted
                self.registry_error = f"registry unavailable ({type(exc).__name__})"
                log.warning("model registry check failed: %s", error_line(exc))
                return False
            finally:
                self.checked_at = datetime.now(UTC)
            self._current = Served(model, version, datetime.now(UTC), info)  # the atomic swap
            self.registry_error = None
            log.info("serving model version %s (%s)", version, self.alias)
            return True
