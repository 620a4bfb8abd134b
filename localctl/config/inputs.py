"""The `inputs` section: meters and EMS sources, each defined next to its adapter."""

from __future__ import annotations

from pydantic import Field

from localctl.config.base import StrictModel
from localctl.inputs.modbus.config import ModbusEmsServerConfig, ModbusMeterConfig
from localctl.inputs.mqtt.config import EmsMqttConfig, MqttMeterConfig


class InputsConfig(StrictModel):
    """Where the controller learns what flows through the site and what it may draw."""

    modbus_meters: tuple[ModbusMeterConfig, ...] = Field(
        (), description="meters read over Modbus TCP, each measuring one node"
    )
    mqtt_meters: tuple[MqttMeterConfig, ...] = Field(
        (), description="meters read from MQTT topics (Shelly, Tasmota, ...), each on one node"
    )
    ems_mqtt: EmsMqttConfig | None = Field(
        None, description="EMS limits received over MQTT (needs the mqtt section)"
    )
    ems_modbus: ModbusEmsServerConfig | None = Field(
        None, description="a Modbus TCP server whose holding registers an EMS writes"
    )

    def meter_nodes(self) -> dict[str, str]:
        """meter id -> node id for every configured meter."""
        nodes = {m.id: m.node_id for m in self.modbus_meters}
        nodes.update({m.id: m.node_id for m in self.mqtt_meters})
        return nodes

    def check(self, node_ids: set[str], has_mqtt: bool) -> None:
        ids = [m.id for m in self.modbus_meters] + [m.id for m in self.mqtt_meters]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"meter ids appear twice: {', '.join(duplicates)}")
        for meter_id, node_id in self.meter_nodes().items():
            if node_id not in node_ids:
                raise ValueError(f"meter {meter_id}: node {node_id} is not in the site")
        ems_nodes = list(self.ems_mqtt.node_ids if self.ems_mqtt else ())
        ems_nodes += [self.ems_modbus.node_id] if self.ems_modbus else []
        for node_id in ems_nodes:
            if node_id not in node_ids:
                raise ValueError(f"EMS limit on node {node_id}, which is not in the site")
        if (self.mqtt_meters or self.ems_mqtt) and not has_mqtt:
            raise ValueError("MQTT meters and EMS limits need the mqtt section")
