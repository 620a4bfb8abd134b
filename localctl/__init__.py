"""localctl: an OCPP 1.6J / 2.0.1 local smart-charging controller."""

__version__ = "0.1.0"
