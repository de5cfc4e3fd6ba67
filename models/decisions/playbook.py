"""The playbook: which treatment each account gets, and the worklist's limits.

A rule matches an account when all of its given conditions hold; the first matching rule wins.
``manual`` treatments are done by people and use the daily capacity; the others are automated.
Read from TOML with ``precollect worklist --playbook FILE``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Rule:
    """A playbook rule: all given conditions must hold. ``manual`` treatments use capacity."""

    treatment: str
    reason: str
    manual: bool = True
    disputed: bool | None = None
    overdue: bool | None = None
    risk_bands: tuple[str, ...] = ()
    min_open_amount: float | None = None
    min_trend: float | None = None

    def matches(self, row: dict[str, object]) -> bool:
        checks = [
            self.disputed is None or bool(row["disputed"]) == self.disputed,
            self.overdue is None or bool(row["overdue"]) == self.overdue,
            not self.risk_bands or row["risk_band"] in self.risk_bands,
            self.min_open_amount is None or float(row["open_amount"]) >= self.min_open_amount,  # type: ignore[arg-type]
            self.min_trend is None or float(row["late_share_trend"]) >= self.min_trend,  # type: ignore[arg-type]
        ]
        return all(checks)


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "dispute_resolution",
        "an open invoice is disputed: resolve the dispute first",
        disputed=True,
    ),
    Rule("escalate", "already overdue: escalate", overdue=True),
    Rule(
        "payment_plan",
        "high risk, large balance and a worsening payment history: offer a plan",
        risk_bands=("high",),
        min_open_amount=50_000,
        min_trend=0.1,
    ),
    Rule(
        "personal_call", "high risk of paying late: call before the due date", risk_bands=("high",)
    ),
    Rule(
        "reminder_before_due",
        "medium risk: send a reminder a few days before the due date",
        risk_bands=("medium",),
    ),
    Rule(
        "automated_reminder", "low risk: automated reminder only", manual=False, risk_bands=("low",)
    ),
)


@dataclass(frozen=True)
class WorklistConfig:
    capacity: int = 50
    """Human contacts per day, all queues together."""
    queue_capacity: dict[str, int] = field(default_factory=dict)
    max_contacts: int = 7
    contact_window_days: int = 7
    rules: tuple[Rule, ...] = DEFAULT_RULES

    def manual_treatments(self) -> frozenset[str]:
        """Treatments people carry out (they use the capacity)."""
        return frozenset(r.treatment for r in self.rules if r.manual)


class PlaybookError(ValueError):
    """The playbook file is missing, not TOML, or has unknown sections, keys or values."""


WORKLIST_KEYS = frozenset(f.name for f in fields(WorklistConfig)) - {"rules"}
RULE_KEYS = frozenset(f.name for f in fields(Rule))


def _refuse_unknown(where: str, given: dict[str, Any], known: frozenset[str]) -> None:
    unknown = set(given) - known
    if unknown:
        raise PlaybookError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(known)}")


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PlaybookError(f"playbook file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(f"cannot read playbook file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"playbook file {path} is not valid TOML: {exc}") from None


def load_config(path: Path | None, capacity: int | None = None) -> WorklistConfig:
    """Read ``[worklist]`` and ``[[rules]]`` from a TOML file; defaults otherwise.

    Raises:
        PlaybookError: the file is missing or unreadable, or has an unknown section or key (a
            typo such as ``capcity`` would otherwise silently leave the default in force).
    """
    config = WorklistConfig()
    if path is not None:
        data = _read(path)
        _refuse_unknown(f"playbook {path}", data, frozenset({"worklist", "rules"}))
        section = data.get("worklist", {})
        _refuse_unknown(f"playbook {path}: [worklist]", section, WORKLIST_KEYS)
        raw_rules = data.get("rules", [])
        for i, raw in enumerate(raw_rules):
            _refuse_unknown(f"playbook {path}: rule {i + 1}", raw, RULE_KEYS)
            if "treatment" not in raw or "reason" not in raw:
                raise PlaybookError(f"playbook {path}: rule {i + 1} needs a treatment and a reason")
        try:
            rules = tuple(_rule(r) for r in raw_rules) or DEFAULT_RULES
            config = WorklistConfig(
                capacity=int(section.get("capacity", config.capacity)),
                queue_capacity={
                    str(k): int(v) for k, v in section.get("queue_capacity", {}).items()
                },
                max_contacts=int(section.get("max_contacts", config.max_contacts)),
                contact_window_days=int(
                    section.get("contact_window_days", config.contact_window_days)
                ),
                rules=rules,
            )
        except (TypeError, ValueError) as exc:
            raise PlaybookError(f"playbook {path}: {exc}") from None
    if capacity is not None:
        config = WorklistConfig(
            capacity,
            config.queue_capacity,
            config.max_contacts,
            config.contact_window_days,
            config.rules,
        )
    return config


def _rule(raw: dict[str, Any]) -> Rule:
    values: dict[str, Any] = dict(raw)
    if "risk_bands" in values:
        values["risk_bands"] = tuple(values["risk_bands"])
    return Rule(**values)
