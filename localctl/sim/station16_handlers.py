"""What a simulated 1.6J charge point answers to calls from the central system.

A mixin of `SimStation16`: it declares the state it reads. Answers follow what real charge
points do; where an answer implies a later message (a triggered StatusNotification, the
StartTransaction after RemoteStartTransaction) it is sent after the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call_result

from localctl.sim.composite import schedule_periods
from localctl.sim.endpoint import FollowUp
from localctl.sim.ocpp_glue import handles, iso_utc
from localctl.sim.profile_rules import V16
from localctl.sim.profiles import profile_from_v16
from localctl.sim.triggers import triggered

if TYPE_CHECKING:
    from localctl.sim.config_store import KeyStore16
    from localctl.sim.station_base import SimStationBase

    _Base = SimStationBase
else:
    _Base = object


class Station16Handlers(_Base):
    config: KeyStore16
    connectors: int
    transaction_ids: dict[int, int]
    connector_status: dict[int, str]
    last_reading: dict[int, tuple[tuple[float, ...], float]]

    if TYPE_CHECKING:  # provided by SimStation16

        async def boot(self) -> Any: ...
        async def start_charging(self, connector_id: int, id_tag: str) -> Any: ...
        async def heartbeat(self) -> Any: ...
        async def status(
            self, connector_id: int, status: str, error_code: str = "NoError"
        ) -> Any: ...
        async def start_transaction(
            self, connector_id: int, id_tag: str, meter_start_wh: float = 0.0
        ) -> Any: ...
        async def stop_transaction(
            self,
            connector_id: int,
            meter_stop_wh: float,
            reason: str = "Local",
            id_tag: str | None = None,
        ) -> Any: ...
        async def meter_values(
            self,
            connector_id: int,
            current_a: Sequence[float],
            energy_wh: float,
            voltage_v: float = 230.0,
        ) -> Any: ...

    @handles("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        known, unknown = self.config.get(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @handles("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        return call_result.ChangeConfiguration(status=self.config.change(key, value))

    @handles("SetChargingProfile")
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        now = self._clock()
        profile = profile_from_v16(connector_id, cs_charging_profiles, now)
        running = self.transaction_ids.get(connector_id)
        transaction_id = None if running is None else str(running)
        reason = self.profiles.offer(profile, now, version=V16, transaction_id=transaction_id)
        return call_result.SetChargingProfile(status="Rejected" if reason else "Accepted")

    @handles("ClearChargingProfile")
    def on_clear_charging_profile(self, **criteria: Any) -> Any:
        removed = self.profiles.clear(
            profile_id=criteria.get("id"),
            port=criteria.get("connector_id"),
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @handles("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str = "A", **_: Any
    ) -> Any:
        if not 0 <= connector_id <= self.connectors:
            return call_result.GetCompositeSchedule(status="Rejected")
        now = self._clock()
        periods = schedule_periods(
            self.profiles,
            connector_id,
            now,
            duration,
            rate_unit=charging_rate_unit,
            phases=self.phases_of(connector_id),
        )
        schedule = {
            "duration": duration,
            "start_schedule": iso_utc(now),
            "charging_rate_unit": charging_rate_unit,
            "charging_schedule_period": periods,
        }
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=iso_utc(now),
            charging_schedule=schedule,
        )

    @handles("RemoteStartTransaction")
    def on_remote_start_transaction(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        port = connector_id or self._free_connector()
        if port is None or port in self.transaction_ids:
            return call_result.RemoteStartTransaction(status="Rejected")
        # A profile given with a remote start is the new transaction's TxProfile (1.6 5.11).
        if charging_profile and charging_profile["charging_profile_purpose"] != "TxProfile":
            return call_result.RemoteStartTransaction(status="Rejected")

        async def start() -> None:
            await self.start_charging(port, id_tag)
            if charging_profile:
                profile = profile_from_v16(port, charging_profile, self._clock())
                transaction_id = str(self.transaction_ids[port])
                self.profiles.install(replace(profile, transaction_id=transaction_id))

        self._after_reply("remote start", start)
        return call_result.RemoteStartTransaction(status="Accepted")

    def _free_connector(self) -> int | None:
        free = [c for c in range(1, self.connectors + 1) if c not in self.transaction_ids]
        return free[0] if free else None

    @handles("RemoteStopTransaction")
    def on_remote_stop_transaction(self, transaction_id: int, **_: Any) -> Any:
        ports = [port for port, tx in self.transaction_ids.items() if tx == transaction_id]
        if not ports:
            return call_result.RemoteStopTransaction(status="Rejected")
        port = ports[0]
        energy_wh = self.last_reading.get(port, ((), 0.0))[1]

        async def stop() -> None:
            await self.stop_transaction(port, energy_wh, reason="Remote")
            await self.status(port, "Finishing")

        self._after_reply("remote stop", stop)
        return call_result.RemoteStopTransaction(status="Accepted")

    @handles("Reset")
    def on_reset(self, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @handles("TriggerMessage")
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        follow_up = self._triggered(requested_message, connector_id or 1)
        if follow_up is None:
            return call_result.TriggerMessage(status="NotImplemented")
        self._after_reply(f"triggered {requested_message}", follow_up)
        return call_result.TriggerMessage(status="Accepted")

    def _triggered(self, message: str, port: int) -> FollowUp | None:
        async def boot() -> None:
            await self.boot()

        return triggered(self, message, port, boot)

    @handles("UnlockConnector")
    def on_unlock_connector(self, **_: Any) -> Any:
        return call_result.UnlockConnector(status="Unlocked")

    @handles("ChangeAvailability")
    def on_change_availability(self, **_: Any) -> Any:
        return call_result.ChangeAvailability(status="Accepted")

    @handles("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        # A real charge point knows no vendor extensions of a stranger.
        return call_result.DataTransfer(status="UnknownVendorId")
