"""`SimStation16`: a simulated OCPP 1.6J charge point.

The calls a charge point makes are methods returning the CSMS's typed `ocpp` result; the
calls it answers are in `Station16Handlers`. Connector ids start at 1; 0 is the whole
charge point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Unpack

from ocpp.v16 import call

from localctl.sim.config_store import KeyStore16
from localctl.sim.ocpp_glue import OCPP16, iso_utc
from localctl.sim.quirks import StationQuirks
from localctl.sim.station16_handlers import Station16Handlers
from localctl.sim.station_base import ConnectionOptions, SimStationBase

PHASES = ("L1", "L2", "L3")


def quirk_keys16(quirks: StationQuirks) -> dict[str, str]:
    """The configuration keys through which a 1.6 station announces its quirks."""
    keys = {"ChargeProfileMaxStackLevel": str(quirks.max_stack_level)}
    if quirks.watts_only:
        keys["ChargingScheduleAllowedChargingRateUnit"] = "Power"
    return keys


def sampled_values16(
    current_a: Sequence[float],
    energy_wh: float,
    voltage_v: float,
    soc_percent: float | None = None,
) -> list[dict[str, Any]]:
    """1.6 sampledValue entries: current per phase, active power and the energy register."""
    power_w = sum(current_a) * voltage_v
    currents = [
        {"value": f"{amps:.1f}", "measurand": "Current.Import", "phase": phase, "unit": "A"}
        for phase, amps in zip(PHASES, current_a, strict=False)
    ]
    samples = [
        *currents,
        {"value": f"{power_w:.0f}", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": f"{energy_wh:.0f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
    ]
    if soc_percent is not None:
        samples.append({"value": f"{soc_percent:.0f}", "measurand": "SoC", "unit": "Percent"})
    return samples


class SimStation16(Station16Handlers, SimStationBase):
    """A 1.6J charge point with `connectors` connectors and a realistic key store.

    `config` overrides or adds configuration keys. See `SimStationBase` for the connection
    options (subprotocols offered, extra headers such as basic auth, reply delay).
    """

    speaks: ClassVar[str] = OCPP16

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        connectors: int = 1,
        config: Mapping[str, str] | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(url, station_id, ports=connectors, **options)
        self.connectors = connectors
        self.config = KeyStore16(connectors, {**quirk_keys16(self.quirks), **(config or {})})
        self.transaction_ids: dict[int, int] = {}
        self.connector_status: dict[int, str] = dict.fromkeys(range(connectors + 1), "Available")
        self.last_reading: dict[int, tuple[tuple[float, ...], float]] = {}

    # -- calls the charge point makes ---------------------------------------------------

    async def boot(self) -> Any:
        """BootNotification; an accepted station adopts the heartbeat interval it is given."""
        result = await self._call(
            call.BootNotification(
                charge_point_vendor=self.identity.vendor,
                charge_point_model=self.identity.model,
                firmware_version=self.identity.firmware_version,
            )
        )
        if result.status == "Accepted" and int(result.interval) > 0:
            self.config.change("HeartbeatInterval", str(int(result.interval)))
        return result

    async def heartbeat(self) -> Any:
        return await self._call(call.Heartbeat())

    async def status(self, connector_id: int, status: str, error_code: str = "NoError") -> Any:
        self.connector_status[connector_id] = status
        payload = call.StatusNotification(
            connector_id=connector_id,
            error_code=error_code,
            status=status,
            timestamp=iso_utc(self._clock()),
        )
        return await self._call(payload)

    async def authorize(self, id_tag: str) -> Any:
        return await self._call(call.Authorize(id_tag=id_tag))

    async def start_transaction(
        self, connector_id: int, id_tag: str, meter_start_wh: float = 0.0
    ) -> Any:
        """StartTransaction; the CSMS's transactionId is kept for this connector as soon as
        the answer is read, so a TxProfile right behind it finds its transaction."""

        def keep_transaction_id(raw: dict[str, Any]) -> None:
            if isinstance(raw.get("transactionId"), int):
                self.transaction_ids[connector_id] = raw["transactionId"]

        result = await self._call(
            call.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=round(meter_start_wh),
                timestamp=iso_utc(self._clock()),
            ),
            on_result=keep_transaction_id,
        )
        self.transaction_ids[connector_id] = int(result.transaction_id)
        return result

    async def meter_values(
        self,
        connector_id: int,
        current_a: Sequence[float],
        energy_wh: float,
        voltage_v: float = 230.0,
        soc_percent: float | None = None,
    ) -> Any:
        """MeterValues with one sample; tied to the connector's transaction if one runs."""
        self.last_reading[connector_id] = (tuple(current_a), energy_wh)
        meter_value = {
            "timestamp": iso_utc(self._clock()),
            "sampled_value": sampled_values16(current_a, energy_wh, voltage_v, soc_percent),
        }
        payload = call.MeterValues(
            connector_id=connector_id,
            meter_value=[meter_value],
            transaction_id=self.transaction_ids.get(connector_id),
        )
        return await self._call(payload)

    async def stop_transaction(
        self,
        connector_id: int,
        meter_stop_wh: float,
        reason: str = "Local",
        id_tag: str | None = None,
    ) -> Any:
        transaction_id = self.transaction_ids.pop(connector_id)
        # A TxProfile lives only as long as its transaction.
        self.profiles.clear(port=connector_id, purpose="TxProfile")
        payload = call.StopTransaction(
            meter_stop=round(meter_stop_wh),
            timestamp=iso_utc(self._clock()),
            transaction_id=transaction_id,
            reason=reason,
            id_tag=id_tag,
        )
        return await self._call(payload)

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> Any:
        return await self._call(
            call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)
        )

    # -- the life-cycle steps `run_station_life` uses ----------------------------------

    async def set_available(self, connector_id: int) -> Any:
        return await self.status(connector_id, "Available")

    async def plug_in(self, connector_id: int) -> Any:
        return await self.status(connector_id, "Preparing")

    async def start_charging(self, connector_id: int, id_tag: str) -> Any:
        """StartTransaction, then Charging as a charge point reports it."""
        result = await self.start_transaction(connector_id, id_tag)
        await self.status(connector_id, "Charging")
        return result

    async def stop_charging(self, connector_id: int, energy_wh: float) -> Any:
        result = await self.stop_transaction(connector_id, energy_wh)
        await self.status(connector_id, "Finishing")
        return result

    async def unplug(self, connector_id: int) -> Any:
        return await self.status(connector_id, "Available")
