"""Modbus TCP inputs: meter pollers and the EMS register server (register maps: docs/modbus.md)."""

# localctl.config's package __init__ imports the whole config model, which imports this
# package's config module; loading localctl.config first, completely, keeps that cycle from
# meeting a half-initialised module when a caller imports localctl.inputs.modbus.config first.
import localctl.config  # noqa: F401
