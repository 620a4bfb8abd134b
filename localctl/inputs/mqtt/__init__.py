"""MQTT: the broker connection, EMS limits, meters and telemetry (contract in docs/mqtt.md)."""
