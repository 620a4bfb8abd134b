"""The site's Modbus meters: one simulated SDM630 per metered node, fed every step.

Which nodes: by default the grid connection on any free port; `sdm630_meter_ports` reads
them from a configuration instead (its `eastron_sdm630` meters on a loopback host, on their
configured ports), so a controller started from the same file finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from localctl.config.model import LocalctlConfig
from localctl.sim.base_load import PhaseCurrents
from localctl.sim.ev import NOMINAL_VOLTAGE_V
from localctl.sim.meter_server import MeterReading, SiteMeterServer

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def sdm630_meter_ports(config: LocalctlConfig) -> dict[str, int]:
    """node id -> port of every SDM630 the configuration reads on this machine."""
    return {
        meter.node_id: meter.port
        for meter in config.inputs.modbus_meters
        if meter.model == "eastron_sdm630" and meter.host in LOOPBACK_HOSTS
    }


class SiteMeters:
    """SDM630 servers by node id, with each node's imported energy register."""

    def __init__(self, ports: Mapping[str, int], *, unit_ids: Mapping[str, int] | None = None):
        ids = unit_ids or {}
        self.servers = {
            node_id: SiteMeterServer(port=port, unit_id=ids.get(node_id, 1))
            for node_id, port in ports.items()
        }
        self.energy_wh = dict.fromkeys(ports, 0.0)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            for server in self.servers.values():
                await stack.enter_async_context(server)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def update(self, currents_a: Mapping[str, PhaseCurrents], dt_s: float) -> None:
        """Serve each node's currents; its energy register grows by what flowed for `dt_s`."""
        for node_id, server in self.servers.items():
            current_a = currents_a[node_id]
            self.energy_wh[node_id] += sum(current_a) * NOMINAL_VOLTAGE_V * dt_s / 3600.0
            server.update(MeterReading(current_a, import_energy_wh=self.energy_wh[node_id]))
