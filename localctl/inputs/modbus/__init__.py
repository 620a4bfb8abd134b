"""Modbus TCP inputs: meter pollers and the EMS register server (register maps: docs/modbus.md)."""
