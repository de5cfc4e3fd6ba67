"""The monitor's thresholds (plain data: the settings import them, so nothing heavy here)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Deterioration:
    """When an account's change against its own history is listed (:mod:`.accounts`)."""

    recent_days: int = 30
    history_days: int = 365
    min_recent: int = 2
    min_history: int = 3
    days_to_pay_jump: float = 10.0
    partial_jump: float = 0.3
    dispute_jump: float = 0.3
    spread_factor: float = 2.0
    max_accounts: int = 100


@dataclass(frozen=True)
class Thresholds:
    """When the monitor raises an alert (the ``PRECOLLECT_MONITOR_*`` settings)."""

    feature_psi: float = 0.25
    group_psi: float = 0.1
    score_psi: float = 0.2
    min_rows: int = 50
    """Fewer scored invoices than this: PSI is reported but raises no alert (too noisy)."""
    quarantine_rate: float = 0.02
    auc_drop: float = 0.05
    """Realised (or estimated) ROC-AUC this far below the reference's estimate."""
    ece_rise: float = 0.05
    """Realised ECE this far above the reference's expected ECE."""
    mature_share: float = 0.95
    """Share of a cohort's labels that must be known before its realised figures count."""
    min_coverage: float = 0.65
    """Pay-date P10-P90 coverage below this (nominal 0.8)."""
    max_wape: float = 0.5
    lateness_gap: float = 0.15
    """Invoices just due: late share this far above the model's mean probability for them..."""
    lateness_z: float = 3.0
    """...and this many standard deviations above it (a binomial z-score)."""
    lateness_min: int = 10
    due_days: int = 3
    """Invoices due in the last this many days (their labels are known at T)."""
    cohort_days: int = 120
    paydate_weeks: int = 4
    deterioration: Deterioration = field(default_factory=Deterioration)
