from __future__ import annotations

from dataclasses import dataclass

from localctl.config.control import ControlConfig
from localctl.config.site import SiteConfig
from localctl.inputs.readings import EmsLimit, MeterReading, PhaseValues


@dataclass
class FakeClock:
    now_s: float = 1000.0

    def __call__(self) -> float:
        return self.now_s


def office_site() -> SiteConfig:
    """main (3 x 100 A, metered) -> sub-a (3 x 40 A, metered) and sub-b (3 x 40 A)."""
    return SiteConfig.model_validate(
        {
            "nodes": [
                {"id": "main", "kind": "grid_connection", "fuse_a": 100},
                {"id": "sub-a", "kind": "sub_distribution", "parent": "main", "fuse_a": 40},
                {"id": "sub-b", "kind": "sub_distribution", "parent": "main", "fuse_a": 40},
            ],
            "evses": [
                {"id": "a1", "node": "sub-a"},
                {"id": "a2", "node": "sub-a", "phases": 1, "wiring": ["L2"]},
                {"id": "b1", "node": "sub-b", "wiring": ["L3", "L1", "L2"]},
            ],
        }
    )


CONTROL = ControlConfig(meter_stale_s=10, meter_lost_s=60)


def reading(meter_id: str, node_id: str, current_a: PhaseValues, at_s: float) -> MeterReading:
    return MeterReading(meter_id, node_id, current_a, None, None, at_s, at_s)


def ems(node_id: str, power_w: float, until_s: float, at_s: float = 0.0) -> EmsLimit:
    return EmsLimit("vendor x", node_id, power_w, None, until_s, at_s, at_s)
