"""A readable description of a loaded configuration, for `localctl check-config`."""

from __future__ import annotations

from localctl.config.model import LocalctlConfig, RelayConfig
from localctl.config.site import EvseConfig, NodeConfig, SiteConfig


def describe(config: LocalctlConfig) -> list[str]:
    lines = _relay(config.relay)
    if config.site is None:
        lines.append("site: none (a pure relay: no limits are computed)")
        return lines
    owners = {
        evse_id: f"{station.id} #{ocpp_id}"
        for station in config.stations
        for ocpp_id, evse_id in station.evses.items()
    }
    site = config.site
    lines.append(f'site "{site.name}" ({site.nominal_voltage_v:g} V phase-to-neutral)')
    root = site.children(None)[0]
    lines.extend(_subtree(site, root, owners, prefix="  ", is_last=True, is_root=True))
    evse_count = sum(len(s.evses) for s in config.stations)
    lines.append(f"stations: {len(config.stations)} with {evse_count} EVSEs")
    unassigned = [e.id for e in site.evses if e.id not in owners]
    if unassigned:
        lines.append(f"  EVSEs with no station: {', '.join(unassigned)}")
    lines.extend(_inputs(config))
    control = config.control
    ramp_a = control.max_increase_a_per_cycle
    lines.append(f"control: every {control.period_s:g} s, ramp {ramp_a:g} A/cycle")
    lines.append(
        f"  meter stale after {control.meter_stale_s:g} s, lost after {control.meter_lost_s:g} s"
    )
    return lines


def _inputs(config: LocalctlConfig) -> list[str]:
    inputs = config.inputs
    lines = ["inputs:"]
    for meter in inputs.modbus_meters:
        where = f"{meter.host}:{meter.port} unit {meter.unit_id}"
        lines.append(f"  meter {meter.id} on {meter.node_id}: {meter.model} over Modbus at {where}")
    for mqtt_meter in inputs.mqtt_meters:
        lines.append(f"  meter {mqtt_meter.id} on {mqtt_meter.node_id}: MQTT {mqtt_meter.topic}")
    if inputs.ems_mqtt is not None:
        nodes = ", ".join(inputs.ems_mqtt.node_ids)
        lines.append(f"  EMS limits over MQTT for {nodes}")
    if inputs.ems_modbus is not None:
        server = inputs.ems_modbus
        lines.append(
            f"  EMS limits over Modbus for {server.node_id}: server on "
            f"{server.listen_host}:{server.listen_port}"
        )
    if len(lines) == 1:
        lines.append("  none: nothing measured, the fuses are for the EVs alone")
    if config.mqtt is not None:
        lines.append(
            f"mqtt: {config.mqtt.host}:{config.mqtt.port}, topics under {config.mqtt.base_topic}/"
        )
    return lines


def _relay(relay: RelayConfig) -> list[str]:
    allowed = "any" if relay.allowed_station_ids is None else ", ".join(relay.allowed_station_ids)
    security = relay.station_security
    scheme = "wss" if security is not None and security.tls is not None else "ws"
    if security is None:
        checks = "none (stations are not authenticated)"
    else:
        listed = ", ".join(f"{s.id}: {s.profile}" for s in security.stations if s.profile)
        checks = f"profile {security.default_profile} by default" + (
            f"; {listed}" if listed else ""
        )
    return [
        f"relay: {scheme}://{relay.listen}/<station-id> -> {relay.upstream_url}/<station-id>",
        f"  station security: {checks}",
        f"  subprotocols: {', '.join(relay.subprotocols)}",
        f"  strict: {relay.strict}; compression: {relay.compression}",
        f"  stations allowed: {allowed}; duplicate connection: {relay.on_duplicate_connection}",
    ]


def _subtree(
    site: SiteConfig,
    node: NodeConfig,
    owners: dict[str, str],
    prefix: str,
    *,
    is_last: bool,
    is_root: bool = False,
) -> list[str]:
    branch = "" if is_root else ("└─ " if is_last else "├─ ")
    lines = [f"{prefix}{branch}{node.id} ({node.kind.replace('_', ' ')}): {_limits(node)}"]
    child_prefix = prefix if is_root else prefix + ("   " if is_last else "│  ")
    children: list[NodeConfig | EvseConfig] = [*site.children(node.id)]
    children += [e for e in site.evses if e.node == node.id]
    for index, child in enumerate(children):
        last = index == len(children) - 1
        if isinstance(child, NodeConfig):
            lines.extend(_subtree(site, child, owners, child_prefix, is_last=last))
        else:
            lines.append(f"{child_prefix}{'└─ ' if last else '├─ '}{_evse(child, owners)}")
    return lines


def _limits(node: NodeConfig) -> str:
    parts = []
    if node.fuse_a is not None:
        parts.append("fuse " + "/".join(f"{a:g}" for a in node.fuse_a) + " A")
    if node.power_limit_w is not None:
        parts.append(f"{node.power_limit_w / 1000:g} kW")
    return ", ".join(parts)


def _evse(evse: EvseConfig, owners: dict[str, str]) -> str:
    wiring = " ".join(evse.grid_phases)
    station = owners.get(evse.id, "no station")
    priority = f", priority {evse.default_priority}" if evse.default_priority else ""
    return (
        f"evse {evse.id} [{station}]: {evse.kind.upper()} {evse.phases}-phase on {wiring}, "
        f"{evse.min_current_a:g}-{evse.max_current_a:g} A{priority}"
    )
