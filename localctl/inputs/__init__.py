"""Live inputs: grid meters (Modbus TCP, MQTT) and EMS limits (MQTT, Modbus server)."""
