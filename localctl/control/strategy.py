"""How the controller expresses limits to a station model, as data (not subclasses).

Default strategy (OCPP 1.6 section 3.13, OCPP 2.0.1 block K):
- **Floor**: a permanent station-wide profile (1.6 ChargePointMaxProfile on connector 0;
  2.0.1 ChargingStationMaxProfile on EVSE 0) at `floor_stack_level`. Its limit is the sum of
  the station's fallback floors, so that the whole site stays within its fuses if the
  controller vanishes and every lease runs out.
- **Station lease**: the same purpose one level higher, with a `validTo` `lease_s` ahead, at
  the sum of the station's allocations; it lifts the floor while the controller renews it.
- **EVSE lease**: per EVSE, at `evse_stack_level` of TxDefaultProfile (no transaction) or
  TxProfile (a transaction is running; a TxProfile overrides TxDefaultProfile, 1.6 3.13.2,
  2.0.1 K01), also expiring after `lease_s`.
- The controller's profiles sit at the top stack levels; their limits are the minimum of the
  local allocation and what the CSMS's own profiles allow, so the station obeys the lower of
  the two at every moment. The purpose ChargingStationExternalConstraints is never sent to a
  station (K14.FR.06).
- Unit A by default (limits in A are per phase, K01.FR.51); stations that take only W get W
  computed from the nominal voltage and the number of phases (K01.FR.50).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ProfileStrategy:
    name: str
    unit: Literal["A", "W"] = "A"
    floor_stack_level: int = 7
    station_lease_stack_level: int = 8
    evse_stack_level: int = 8
    lease_s: float = 120.0
    """how long a dynamic limit stays valid without renewal (s)"""
    renew_before_s: float = 60.0
    """renew a lease this long before it runs out (s)"""
    use_tx_profile: bool = True
    """False for stations that mishandle TxProfile: TxDefaultProfile is used throughout"""
    min_increase_a: float = 1.0
    """smaller increases are not sent (decreases always are): stops chatter"""

    def with_lease(self, lease_s: float | None) -> ProfileStrategy:
        """This strategy with another lease length; renewal at half of it."""
        if lease_s is None:
            return self
        return dataclasses.replace(self, lease_s=lease_s, renew_before_s=lease_s / 2)

    def __post_init__(self) -> None:
        if not 0 <= self.floor_stack_level < self.station_lease_stack_level:
            raise ValueError(f"{self.name}: the floor must sit below the station lease")
        if not 0 < self.renew_before_s < self.lease_s:
            raise ValueError(f"{self.name}: renew_before_s must be inside lease_s")


STRATEGIES: dict[str, ProfileStrategy] = {
    "default": ProfileStrategy("default"),
    "watts-only": ProfileStrategy("watts-only", unit="W"),
    "tx-default-only": ProfileStrategy("tx-default-only", use_tx_profile=False),
    "low-stack": ProfileStrategy(
        "low-stack", floor_stack_level=1, station_lease_stack_level=2, evse_stack_level=2
    ),
}
"""Built-in strategies by name; a station's `profile` setting picks one."""
