"""`SimStation201`: a simulated OCPP 2.0.1 charging station.

One connector per EVSE. Transactions are reported with TransactionEvent Started / Updated /
Ended, each with its own sequence number; the calls the station answers are in
`Station201Handlers`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Unpack

from ocpp.v201 import call

from localctl.sim.config_store import VariableName, VariableStore201
from localctl.sim.ocpp_glue import OCPP201, iso_utc
from localctl.sim.quirks import StationQuirks
from localctl.sim.station201_handlers import Station201Handlers
from localctl.sim.station_base import ConnectionOptions, SimStationBase

PHASES = ("L1", "L2", "L3")


def quirk_variables201(quirks: StationQuirks) -> dict[VariableName, str]:
    """The device-model variables through which a 2.0.1 station announces its quirks."""
    variables = {("SmartChargingCtrlr", "ProfileStackLevel"): str(quirks.max_stack_level)}
    if quirks.watts_only:
        variables[("SmartChargingCtrlr", "RateUnit")] = "W"
    return variables


@dataclass
class Transaction201:
    transaction_id: str
    seq_no: itertools.count[int] = field(default_factory=itertools.count)


def _sample(value: float, measurand: str, unit: str, phase: str | None = None) -> dict[str, Any]:
    sample: dict[str, Any] = {"value": value, "measurand": measurand}
    sample["unit_of_measure"] = {"unit": unit}
    if phase is not None:
        sample["phase"] = phase
    return sample


def sampled_values201(
    current_a: Sequence[float],
    energy_wh: float,
    voltage_v: float,
    soc_percent: float | None = None,
) -> list[dict[str, Any]]:
    """2.0.1 sampledValue entries: current per phase, active power, the energy register."""
    currents = [
        _sample(round(amps, 1), "Current.Import", "A", phase)
        for phase, amps in zip(PHASES, current_a, strict=False)
    ]
    power_w = round(sum(current_a) * voltage_v)
    samples = [
        *currents,
        _sample(power_w, "Power.Active.Import", "W"),
        _sample(round(energy_wh), "Energy.Active.Import.Register", "Wh"),
    ]
    if soc_percent is not None:
        samples.append(_sample(round(soc_percent), "SoC", "Percent"))
    return samples


class SimStation201(Station201Handlers, SimStationBase):
    """A 2.0.1 charging station with `evses` EVSEs and a small device model.

    `variables` overrides or adds (component, variable) values. See `SimStationBase` for
    the connection options.
    """

    speaks: ClassVar[str] = OCPP201

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        evses: int = 1,
        variables: Mapping[VariableName, str] | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(url, station_id, ports=evses, **options)
        self.evses = evses
        self.variables = VariableStore201({**quirk_variables201(self.quirks), **(variables or {})})
        self.transactions: dict[int, Transaction201] = {}
        self.connector_status: dict[int, str] = dict.fromkeys(range(1, evses + 1), "Available")
        self.last_reading: dict[int, tuple[tuple[float, ...], float]] = {}

    # -- calls the station makes -------------------------------------------------------

    async def boot(self, reason: str = "PowerUp") -> Any:
        """BootNotification; an accepted station adopts the heartbeat interval it is given."""
        station = {
            "model": self.identity.model,
            "vendor_name": self.identity.vendor,
            "firmware_version": self.identity.firmware_version,
        }
        result = await self._call(call.BootNotification(charging_station=station, reason=reason))
        # An accepted station adopts the heartbeat interval it is given.
        if result.status == "Accepted" and int(result.interval) > 0:
            self.variables.set(
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                    "attribute_value": str(int(result.interval)),
                }
            )
        return result

    async def heartbeat(self) -> Any:
        return await self._call(call.Heartbeat())

    async def status(self, evse_id: int, status: str, connector_id: int = 1) -> Any:
        """StatusNotification: Available, Occupied, Reserved, Unavailable or Faulted."""
        self.connector_status[evse_id] = status
        payload = call.StatusNotification(
            timestamp=iso_utc(self._clock()),
            connector_status=status,
            evse_id=evse_id,
            connector_id=connector_id,
        )
        return await self._call(payload)

    async def authorize(self, id_token: str, token_type: str = "ISO14443") -> Any:
        return await self._call(call.Authorize(id_token={"id_token": id_token, "type": token_type}))

    async def start_transaction(
        self,
        evse_id: int,
        id_token: str | None = None,
        *,
        trigger_reason: str = "Authorized",
        remote_start_id: int | None = None,
        energy_wh: float = 0.0,
        token_type: str = "ISO14443",
    ) -> Any:
        """TransactionEvent Started with a new transaction id (kept for this EVSE)."""
        transaction = Transaction201(str(uuid.uuid4()))
        self.transactions[evse_id] = transaction
        token = None if id_token is None else {"id_token": id_token, "type": token_type}
        info: dict[str, Any] = {
            "transaction_id": transaction.transaction_id,
            "charging_state": "Charging",
        }
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        return await self._transaction_event(
            "Started", evse_id, trigger_reason, info, energy_wh=energy_wh, id_token=token
        )

    async def meter_values(
        self,
        evse_id: int,
        current_a: Sequence[float],
        energy_wh: float,
        voltage_v: float = 230.0,
        soc_percent: float | None = None,
    ) -> Any:
        """TransactionEvent Updated while a transaction runs on the EVSE, else MeterValues."""
        self.last_reading[evse_id] = (tuple(current_a), energy_wh)
        meter_value = self._meter_value(
            sampled_values201(current_a, energy_wh, voltage_v, soc_percent)
        )
        if evse_id not in self.transactions:
            return await self._call(call.MeterValues(evse_id=evse_id, meter_value=[meter_value]))
        info = {"transaction_id": self.transactions[evse_id].transaction_id}
        return await self._transaction_event(
            "Updated", evse_id, "MeterValuePeriodic", info, meter_value=meter_value
        )

    async def stop_transaction(
        self,
        evse_id: int,
        energy_wh: float,
        *,
        stopped_reason: str = "Local",
        trigger_reason: str = "StopAuthorized",
    ) -> Any:
        """TransactionEvent Ended with the final energy register."""
        transaction = self.transactions[evse_id]
        info = {
            "transaction_id": transaction.transaction_id,
            "charging_state": "EVConnected",
            "stopped_reason": stopped_reason,
        }
        try:
            return await self._transaction_event(
                "Ended", evse_id, trigger_reason, info, energy_wh=energy_wh
            )
        finally:
            # The transaction ends at the station even if the message cannot be delivered,
            # and a TxProfile lives only as long as its transaction.
            del self.transactions[evse_id]
            self.profiles.clear(port=evse_id, purpose="TxProfile")

    def _meter_value(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        return {"timestamp": iso_utc(self._clock()), "sampled_value": samples}

    async def _transaction_event(
        self,
        event_type: str,
        evse_id: int,
        trigger_reason: str,
        info: dict[str, Any],
        *,
        energy_wh: float | None = None,
        meter_value: dict[str, Any] | None = None,
        id_token: dict[str, str] | None = None,
    ) -> Any:
        if meter_value is None and energy_wh is not None:
            register = _sample(round(energy_wh), "Energy.Active.Import.Register", "Wh")
            meter_value = self._meter_value([register])
        transaction = self.transactions[evse_id]
        payload = call.TransactionEvent(
            event_type=event_type,
            timestamp=iso_utc(self._clock()),
            trigger_reason=trigger_reason,
            seq_no=next(transaction.seq_no),
            transaction_info=info,
            meter_value=None if meter_value is None else [meter_value],
            evse={"id": evse_id, "connector_id": 1},
            id_token=id_token,
        )
        return await self._call(payload)

    # -- the life-cycle steps `run_station_life` uses ----------------------------------

    async def set_available(self, evse_id: int) -> Any:
        return await self.status(evse_id, "Available")

    async def plug_in(self, evse_id: int) -> Any:
        return await self.status(evse_id, "Occupied")

    async def start_charging(self, evse_id: int, id_token: str) -> Any:
        return await self.start_transaction(evse_id, id_token)

    async def stop_charging(self, evse_id: int, energy_wh: float) -> Any:
        return await self.stop_transaction(evse_id, energy_wh)

    async def unplug(self, evse_id: int) -> Any:
        return await self.status(evse_id, "Available")
