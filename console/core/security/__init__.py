"""Security controls: a profile of controls and indicators, judged live from the wire (headless)."""

from console.core.security.model import (
    Control,
    ControlView,
    Direction,
    Evidence,
    Indicator,
    IndicatorSource,
    IndicatorView,
    Profile,
    SecurityStatus,
    SecurityView,
    TimelineEntry,
)
from console.core.security.profile import ProfileError, builtin_profile, load_profile, resolve_profile
from console.core.security.state import SecurityState
from console.core.security.timeline import event_alert

__all__ = [
    "Control",
    "ControlView",
    "Direction",
    "Evidence",
    "Indicator",
    "IndicatorSource",
    "IndicatorView",
    "Profile",
    "ProfileError",
    "SecurityState",
    "SecurityStatus",
    "SecurityView",
    "TimelineEntry",
    "builtin_profile",
    "event_alert",
    "load_profile",
    "resolve_profile",
]
