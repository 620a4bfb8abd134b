"""MQTT: the broker connection, EMS limits, meters and telemetry (contract in docs/mqtt.md)."""

# The top-level config imports this package's config models, and importing
# `localctl.config.base` (for StrictModel) first runs `localctl/config/__init__.py`, which loads
# the top-level config. Loading it here, before any of our modules, lets that chain complete
# instead of meeting our half-imported config module.
import localctl.config  # noqa: F401
