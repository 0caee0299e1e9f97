"""Security controls and events of a site: healthy indicators, background events, overrides.

The control ids and indicator names are shared with the console's security profile; change them
only together with it. Values are the healthy baseline of a well-run site unless a scenario
overrides them (``Effects.indicators``).
"""

from __future__ import annotations

import time

import numpy as np

CONTROLS: dict[str, tuple[str, ...]] = {
    "coverage": ("agent_coverage_pct", "open_critical_vulns", "oldest_unpatched_critical_days"),
    "coordination": ("threat_intel_age_h", "advisories_outstanding", "advisories_acknowledged"),
    "safeguards": ("privileged_sessions_open", "weight_store_access_anomalies", "doors_forced_or_held"),
    "visibility": ("firmware_attestation_pass_pct", "config_drift_nodes"),
    "people": ("mfa_coverage_pct", "phishing_reports_open", "dormant_privileged_accounts"),
}
EVENT_KINDS = (
    "door_forced", "door_held", "privileged_session", "weight_store_access", "advisory", "phishing_report",
)
PUBLISH_EVERY_S = 15.0
"""Security tooling reports each control every 10-60 s (wire contract); 15 s here."""
INTEL_REFRESH_S = 7200.0
ADVISORY_EVERY_S = 2400.0
PHISHING_EVERY_S = 3000.0
HANDLED_AFTER_S = 600.0
"""An advisory is acknowledged and a phishing report closed this long after it arrives."""
BUSINESS_HOURS_UTC = range(8, 18)


class SecurityFeed:
    """Indicators for every control of a site, published every ``PUBLISH_EVERY_S`` of sim time."""

    def __init__(self, start: float, rng: np.random.Generator) -> None:
        self.start = start
        self.rng = rng
        self.next_due = start
        self.coverage_pct = 99.6
        self.acknowledged = int(rng.integers(8, 20))
        self.advisory_open_until = -1.0
        self.phishing_open_until = -1.0
        self.advisory_number = int(rng.integers(5500, 5600))

    def background_events(self, now: float, dt: float) -> list[tuple[str, str, str, str]]:
        """Everyday events: vendor advisories and phishing reports, at random."""
        events: list[tuple[str, str, str, str]] = []
        if self.rng.random() < dt / ADVISORY_EVERY_S:
            self.advisory_number += 1
            self.advisory_open_until = now + HANDLED_AFTER_S
            events.append(("advisory", "info", "soc",
                           f"Vendor advisory {self.advisory_number}: GPU driver security update available."))
        if self.rng.random() < dt / PHISHING_EVERY_S:
            self.phishing_open_until = now + HANDLED_AFTER_S
            events.append(("phishing_report", "warning", "soc",
                           "Staff member reported a phishing mail asking for VPN credentials."))
        if 0 <= self.advisory_open_until <= now:
            self.advisory_open_until = -1.0
            self.acknowledged += 1
        return events

    def baseline(self, now: float) -> dict[str, dict[str, float]]:
        """Healthy indicator values at ``now``."""
        self.coverage_pct = float(np.clip(self.coverage_pct + self.rng.normal(0.0, 0.05), 99.2, 100.0))
        daytime = time.gmtime(now).tm_hour in BUSINESS_HOURS_UTC
        return {
            "coverage": {"agent_coverage_pct": round(self.coverage_pct, 1), "open_critical_vulns": 0,
                         "oldest_unpatched_critical_days": 0},
            "coordination": {
                "threat_intel_age_h": round(1.0 + ((now - self.start) % INTEL_REFRESH_S) / 3600.0, 2),
                "advisories_outstanding": 1 if self.advisory_open_until > now else 0,
                "advisories_acknowledged": self.acknowledged,
            },
            "safeguards": {"privileged_sessions_open": int(self.rng.integers(0, 3)) if daytime else 0,
                           "weight_store_access_anomalies": 0, "doors_forced_or_held": 0},
            "visibility": {"firmware_attestation_pass_pct": 100.0, "config_drift_nodes": 0},
            "people": {"mfa_coverage_pct": 100.0,
                       "phishing_reports_open": 1 if self.phishing_open_until > now else 0,
                       "dormant_privileged_accounts": 0},
        }

    def due(self, now: float, overrides: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Indicators to publish now (every control when the period is up), else nothing."""
        if now < self.next_due:
            return {}
        self.next_due = now + PUBLISH_EVERY_S
        values = self.baseline(now)
        for control, indicators in overrides.items():
            values[control].update(indicators)
        return values
