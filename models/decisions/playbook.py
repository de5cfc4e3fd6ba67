"""The playbook: which treatment each account gets, in which queue, and the worklist's limits.

A rule matches an account when all of its given conditions hold; the first matching rule wins.
``manual`` treatments are done by people and use capacity; the others are automated. Each rule
puts its accounts in one of the :data:`QUEUES`, each with its own daily capacity; ``pre_due`` is
filled first, so the other queues can never starve it. Each treatment has a channel (whose
contact cost the EV subtracts) and a documented uplift prior (:data:`DEFAULT_TREATMENTS`).
Read from TOML with ``precollect worklist --playbook FILE``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PRE_DUE, PROMISE, DISPUTE, OVERDUE_QUEUE = "pre_due", "promise_follow_up", "dispute", "overdue"
QUEUES: tuple[str, ...] = (PRE_DUE, PROMISE, DISPUTE, OVERDUE_QUEUE)
"""The worklist's queues, in the order their capacity is filled (pre-due first)."""
SEGMENTS: tuple[str, ...] = (
    "new",
    "deteriorating",
    "recovering",
    "chronic",
    "occasional",
    "reliable",
)
"""The payer segments (:mod:`models.decisions.segments`), which rules may name."""


@dataclass(frozen=True)
class Rule:
    """A playbook rule: all given conditions must hold. ``manual`` treatments use capacity."""

    treatment: str
    reason: str
    manual: bool = True
    queue: str = PRE_DUE
    disputed: bool | None = None
    overdue: bool | None = None
    broken_promise: bool | None = None
    risk_bands: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    min_open_amount: float | None = None
    min_trend: float | None = None

    def matches(self, row: dict[str, object]) -> bool:
        checks = [
            self.disputed is None or bool(row["disputed"]) == self.disputed,
            self.overdue is None or bool(row["overdue"]) == self.overdue,
            self.broken_promise is None
            or bool(row.get("broken_promise", False)) == self.broken_promise,
            not self.risk_bands or row["risk_band"] in self.risk_bands,
            not self.segments or row.get("segment") in self.segments,
            self.min_open_amount is None or float(row["open_amount"]) >= self.min_open_amount,  # type: ignore[arg-type]
            self.min_trend is None or float(row["late_share_trend"]) >= self.min_trend,  # type: ignore[arg-type]
        ]
        return all(checks)


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "dispute_resolution",
        "an open invoice is disputed: resolve the dispute first",
        queue=DISPUTE,
        disputed=True,
    ),
    Rule(
        "promise_follow_up",
        "a promise to pay was broken: follow it up",
        queue=PROMISE,
        broken_promise=True,
    ),
    Rule("escalate", "already overdue: escalate", queue=OVERDUE_QUEUE, overdue=True),
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
class Treatment:
    """How a treatment reaches the customer and what it is assumed to do (a prior)."""

    channel: str
    uplift: float
    """Share of late payments it turns into on-time ones."""
    days_earlier: float
    """Days it moves a responding customer's payment earlier, at most."""


DEFAULT_TREATMENTS: dict[str, Treatment] = {
    # Priors, not measurements: a call reaches a person and moves more payments than an e-mail;
    # an automated reminder is cheap and weak. Replace them with measured uplift per arm.
    "payment_plan": Treatment("call", 0.20, 14),
    "personal_call": Treatment("call", 0.15, 10),
    "reminder_before_due": Treatment("email", 0.08, 5),
    "automated_reminder": Treatment("automated", 0.03, 3),
    "escalate": Treatment("call", 0.10, 10),
    "dispute_resolution": Treatment("call", 0.10, 10),
    "promise_follow_up": Treatment("call", 0.15, 7),
}
MANUAL_FALLBACK = Treatment("call", 0.10, 7)
AUTOMATED_FALLBACK = Treatment("automated", 0.03, 3)
"""The priors of a playbook treatment not listed under ``[treatments]``."""

DEFAULT_QUEUE_CAPACITY: dict[str, int] = {
    PRE_DUE: 25,
    PROMISE: 5,
    DISPUTE: 10,
    OVERDUE_QUEUE: 10,
}
DEFAULT_CONTACT_COST: dict[str, float] = {"call": 8.0, "email": 1.0, "automated": 0.05}


@dataclass(frozen=True)
class WorklistConfig:
    capacity: int = 50
    """Human contacts per day, all queues together (pre-due is served first)."""
    queue_capacity: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUEUE_CAPACITY))
    """Human contacts per day in each queue; a queue not listed has no own limit."""
    collector_capacity: dict[str, int] = field(default_factory=dict)
    """Human contacts per day per collector (the flags' ``queue`` column names an account's
    collector); ``"*"`` applies to every collector not listed."""
    max_contacts: int = 7
    contact_window_days: int = 7
    pre_due_days: int = 14
    """Only invoices due within this many days count towards a pre-due contact's value."""
    annual_cost_of_capital: float = 0.10
    contact_cost: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CONTACT_COST))
    """Cost of one contact per channel."""
    default_days_late: float = 15.0
    """Days late if late, for an invoice with neither a pay-date prediction nor late history."""
    loss_share_if_late: float = 0.02
    """Share of a late invoice never paid, without a pay-date model's write-off probability."""
    min_expected_value: float | None = None
    """A human pre-due contact worth less than this is not made; ``None``: the pre-due queue
    uses its capacity whatever the EV (in EV order)."""
    control_share: float = 0.10
    """Share of eligible pre-due accounts given the default treatment instead (control arm)."""
    default_treatment: str = "automated_reminder"
    experiment_salt: str = "precollect"
    treatments: dict[str, Treatment] = field(default_factory=lambda: dict(DEFAULT_TREATMENTS))
    rules: tuple[Rule, ...] = DEFAULT_RULES

    def manual_treatments(self) -> frozenset[str]:
        """Treatments people carry out (they use the capacity)."""
        return frozenset(r.treatment for r in self.rules if r.manual)

    def treatment(self, name: str, manual: bool = True) -> Treatment:
        """The channel and priors of a treatment (a documented fallback when not listed)."""
        fallback = MANUAL_FALLBACK if manual else AUTOMATED_FALLBACK
        return self.treatments.get(name, fallback)

    def cost(self, treatment: Treatment) -> float:
        return float(self.contact_cost.get(treatment.channel, 0.0))


class PlaybookError(ValueError):
    """The playbook file is missing, not TOML, or has unknown sections, keys or values."""


WORKLIST_KEYS = frozenset(f.name for f in fields(WorklistConfig)) - {"rules", "treatments"}
RULE_KEYS = frozenset(f.name for f in fields(Rule))
TREATMENT_KEYS = frozenset(f.name for f in fields(Treatment))
_MAPPINGS = {"queue_capacity": int, "collector_capacity": int, "contact_cost": float}
_SCALARS = {
    "capacity": int,
    "max_contacts": int,
    "contact_window_days": int,
    "pre_due_days": int,
    "annual_cost_of_capital": float,
    "default_days_late": float,
    "loss_share_if_late": float,
    "min_expected_value": float,
    "control_share": float,
    "default_treatment": str,
    "experiment_salt": str,
}


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
    """Read ``[worklist]``, ``[treatments.NAME]`` and ``[[rules]]`` from a TOML file; defaults
    otherwise. ``queue_capacity``, ``contact_cost`` and ``[treatments]`` are merged over the
    defaults (a playbook naming only ``pre_due`` keeps the other queues' capacities).

    Raises:
        PlaybookError: the file is missing or unreadable, or has an unknown section, key, queue,
            segment or channel, or a value out of range (a typo such as ``capcity`` would
            otherwise silently leave the default in force).
    """
    config = WorklistConfig()
    if path is not None:
        data = _read(path)
        where = f"playbook {path}"
        _refuse_unknown(where, data, frozenset({"worklist", "rules", "treatments"}))
        section = data.get("worklist", {})
        _refuse_unknown(f"{where}: [worklist]", section, WORKLIST_KEYS)
        raw_rules = data.get("rules", [])
        for i, raw in enumerate(raw_rules):
            _refuse_unknown(f"{where}: rule {i + 1}", raw, RULE_KEYS)
            if "treatment" not in raw or "reason" not in raw:
                raise PlaybookError(f"{where}: rule {i + 1} needs a treatment and a reason")
        raw_treatments = data.get("treatments", {})
        for name, raw in raw_treatments.items():
            if not isinstance(raw, dict):
                raise PlaybookError(f"{where}: [treatments.{name}] must be a table")
            _refuse_unknown(f"{where}: [treatments.{name}]", raw, TREATMENT_KEYS)
        try:
            values: dict[str, Any] = {
                k: kind(section[k]) for k, kind in _SCALARS.items() if k in section
            }
            for key, kind in _MAPPINGS.items():
                base = getattr(config, key) if key != "collector_capacity" else {}
                values[key] = {**base, **{str(k): kind(v) for k, v in section.get(key, {}).items()}}
            treatments = dict(config.treatments)
            for name, raw in raw_treatments.items():
                old = config.treatment(str(name))
                treatments[str(name)] = Treatment(
                    channel=str(raw.get("channel", old.channel)),
                    uplift=float(raw.get("uplift", old.uplift)),
                    days_earlier=float(raw.get("days_earlier", old.days_earlier)),
                )
            rules = tuple(_rule(r) for r in raw_rules) or DEFAULT_RULES
            config = WorklistConfig(**values, treatments=treatments, rules=rules)
        except (TypeError, ValueError, AttributeError) as exc:
            raise PlaybookError(f"{where}: {exc}") from None
        check_config(config, where)
    if capacity is not None:
        config = replace(config, capacity=capacity)
    return config


def check_config(config: WorklistConfig, where: str = "playbook") -> None:
    """Refuse a queue, segment or channel that does not exist, and values out of range."""
    problems = []
    unknown_queues = set(config.queue_capacity) - set(QUEUES)
    if unknown_queues:
        problems.append(
            f"queue_capacity names unknown queues {sorted(unknown_queues)} (queues: "
            f"{', '.join(QUEUES)}; a collector's capacity goes in collector_capacity)"
        )
    for i, rule in enumerate(config.rules):
        if rule.queue not in QUEUES:
            problems.append(f"rule {i + 1} has unknown queue {rule.queue!r}")
        if set(rule.segments) - set(SEGMENTS):
            problems.append(f"rule {i + 1} has unknown segments; known: {', '.join(SEGMENTS)}")
    for name, t in config.treatments.items():
        if t.channel not in config.contact_cost:
            problems.append(f"treatment {name} has channel {t.channel!r} with no contact_cost")
        if not 0 <= t.uplift <= 1 or t.days_earlier < 0:
            problems.append(f"treatment {name} needs uplift in [0, 1] and days_earlier >= 0")
    counts = [config.capacity, config.max_contacts, config.pre_due_days]
    counts += [*config.queue_capacity.values(), *config.collector_capacity.values()]
    if min(counts) < 0 or config.contact_window_days < 1:
        problems.append("capacities and day counts must not be negative")
    if not 0 <= config.control_share < 1 or not 0 <= config.loss_share_if_late <= 1:
        problems.append("control_share must be in [0, 1) and loss_share_if_late in [0, 1]")
    if config.annual_cost_of_capital < 0 or min(config.contact_cost.values(), default=0) < 0:
        problems.append("annual_cost_of_capital and contact costs must not be negative")
    if problems:
        raise PlaybookError(f"{where}: {'; '.join(problems)}")


def _rule(raw: dict[str, Any]) -> Rule:
    values: dict[str, Any] = dict(raw)
    for key in ("risk_bands", "segments"):
        if key in values:
            values[key] = tuple(values[key])
    return Rule(**values)
