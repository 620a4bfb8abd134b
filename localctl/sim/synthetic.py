"""Generated site configurations for end-to-end tests and benchmarks of any size.

`synthetic_config(20)` is a grid connection with 20 three-phase EVSEs, two per station, their
wiring rotated EVSE by EVSE (L1-L2-L3, L2-L3-L1, L3-L1-L2) as installers do to spread
single-phase cars, and every `single_phase_every`-th EVSE single-phase on the next phase.
"""

from __future__ import annotations

from typing import Any

from localctl.config.model import LocalctlConfig

_ROTATIONS = (("L1", "L2", "L3"), ("L2", "L3", "L1"), ("L3", "L1", "L2"))


def _evse(index: int, single_phase_every: int, max_current_a: float) -> dict[str, Any]:
    wiring = _ROTATIONS[index % 3]
    evse: dict[str, Any] = {
        "id": f"evse-{index + 1:04d}",
        "node": "main",
        "wiring": list(wiring),
        "max_current_a": max_current_a,
    }
    if single_phase_every and (index + 1) % single_phase_every == 0:
        evse.update(phases=1, wiring=[wiring[0]])
    return evse


def synthetic_config(
    evse_count: int,
    *,
    fuse_a: float = 63.0,
    evses_per_station: int = 2,
    max_current_a: float = 32.0,
    single_phase_every: int = 0,
    listen: str = "127.0.0.1:0",
    upstream_url: str = "ws://127.0.0.1:9/ocpp",
    meter_port: int | None = None,
) -> LocalctlConfig:
    """A site of `evse_count` EVSEs under one grid connection of `fuse_a` per phase.

    `meter_port`: also configure an SDM630 on 127.0.0.1 at that port for the grid node.
    """
    evses = [_evse(i, single_phase_every, max_current_a) for i in range(evse_count)]
    stations = [
        {
            "id": f"CP-{start // evses_per_station + 1:04d}",
            "evses": {
                port: evse["id"]
                for port, evse in enumerate(evses[start : start + evses_per_station], start=1)
            },
        }
        for start in range(0, evse_count, evses_per_station)
    ]
    document: dict[str, Any] = {
        "relay": {"listen": listen, "upstream_url": upstream_url},
        "site": {
            "name": f"synthetic-{evse_count}",
            "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": fuse_a}],
            "evses": evses,
        },
        "stations": stations,
    }
    if meter_port is not None:
        meter = {
            "id": "grid",
            "node_id": "main",
            "host": "127.0.0.1",
            "port": meter_port,
            "model": "eastron_sdm630",
        }
        document["inputs"] = {"modbus_meters": [meter]}
    return LocalctlConfig.model_validate(document)
