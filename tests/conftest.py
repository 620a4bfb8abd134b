"""Suite-wide settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Properties are checked as written; what is dropped is Hypothesis' timing: on a shared 2-core
# machine a slow example says nothing about the code under test.
settings.register_profile(
    "localctl",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("localctl")
