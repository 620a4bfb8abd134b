"""What a simulated 2.0.1 charging station answers to calls from the CSMS (or controller).

A mixin of `SimStation201`: it declares the state it reads. Messages an answer implies
(NotifyReport after GetBaseReport, the TransactionEvent after RequestStartTransaction, a
triggered message) are sent after the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ocpp.v201 import call, call_result

from localctl.sim.composite import schedule_periods
from localctl.sim.endpoint import FollowUp
from localctl.sim.ocpp_glue import handles, iso_utc
from localctl.sim.profile_rules import V201
from localctl.sim.profiles import profile_from_v201
from localctl.sim.triggers import triggered

if TYPE_CHECKING:
    from localctl.sim.config_store import VariableStore201
    from localctl.sim.station201 import Transaction201
    from localctl.sim.station_base import SimStationBase

    _Base = SimStationBase
else:
    _Base = object


class Station201Handlers(_Base):
    evses: int
    variables: VariableStore201
    transactions: dict[int, Transaction201]
    connector_status: dict[int, str]
    last_reading: dict[int, tuple[tuple[float, ...], float]]

    if TYPE_CHECKING:  # provided by SimStation201

        async def boot(self, reason: str = "PowerUp") -> Any: ...
        async def heartbeat(self) -> Any: ...
        async def status(self, evse_id: int, status: str, connector_id: int = 1) -> Any: ...
        async def start_transaction(
            self,
            evse_id: int,
            id_token: str | None = None,
            *,
            trigger_reason: str = "Authorized",
            remote_start_id: int | None = None,
            energy_wh: float = 0.0,
            token_type: str = "ISO14443",
        ) -> Any: ...
        async def stop_transaction(
            self,
            evse_id: int,
            energy_wh: float,
            *,
            stopped_reason: str = "Local",
            trigger_reason: str = "StopAuthorized",
        ) -> Any: ...
        async def meter_values(
            self,
            evse_id: int,
            current_a: Sequence[float],
            energy_wh: float,
            voltage_v: float = 230.0,
        ) -> Any: ...

    @handles("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = [self.variables.get(request) for request in get_variable_data]
        return call_result.GetVariables(get_variable_result=results)

    @handles("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = [self.variables.set(request) for request in set_variable_data]
        return call_result.SetVariables(set_variable_result=results)

    @handles("GetBaseReport")
    def on_get_base_report(self, request_id: int, **_: Any) -> Any:
        async def notify_report() -> None:
            report = call.NotifyReport(
                request_id=request_id,
                generated_at=iso_utc(self._clock()),
                seq_no=0,
                report_data=self.variables.report(),
                tbc=False,
            )
            await self._call(report)

        self._after_reply("base report", notify_report)
        return call_result.GetBaseReport(status="Accepted")

    @handles("SetChargingProfile")
    def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> Any:
        now = self._clock()
        profile = profile_from_v201(evse_id, charging_profile, now)
        running = self.transactions.get(evse_id)
        transaction_id = None if running is None else running.transaction_id
        reason = self.profiles.offer(profile, now, version=V201, transaction_id=transaction_id)
        if reason is not None:
            return call_result.SetChargingProfile(
                status="Rejected", status_info={"reason_code": reason}
            )
        return call_result.SetChargingProfile(status="Accepted")

    @handles("ClearChargingProfile")
    def on_clear_charging_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        criteria = charging_profile_criteria or {}
        removed = self.profiles.clear(
            profile_id=charging_profile_id,
            port=criteria.get("evse_id"),
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @handles("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str = "A", **_: Any
    ) -> Any:
        if not 0 <= evse_id <= self.evses:
            return call_result.GetCompositeSchedule(
                status="Rejected", status_info={"reason_code": "UnknownEVSE"}
            )
        now = self._clock()
        periods = schedule_periods(
            self.profiles,
            evse_id,
            now,
            duration,
            rate_unit=charging_rate_unit,
            phases=self.phases_of(evse_id),
        )
        schedule = {
            "evse_id": evse_id,
            "duration": duration,
            "schedule_start": iso_utc(now),
            "charging_rate_unit": charging_rate_unit,
            "charging_schedule_period": periods,
        }
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    @handles("RequestStartTransaction")
    def on_request_start_transaction(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        port = evse_id or self._free_evse()
        if port is None or port in self.transactions:
            return call_result.RequestStartTransaction(status="Rejected")
        # The profile of a remote start is the new transaction's TxProfile (F01, K05).
        if charging_profile and charging_profile["charging_profile_purpose"] != "TxProfile":
            return call_result.RequestStartTransaction(status="Rejected")

        async def start() -> None:
            await self.start_transaction(
                port,
                str(id_token["id_token"]),
                trigger_reason="RemoteStart",
                remote_start_id=remote_start_id,
                token_type=str(id_token["type"]),
            )
            if charging_profile:
                profile = profile_from_v201(port, charging_profile, self._clock())
                transaction_id = self.transactions[port].transaction_id
                self.profiles.install(replace(profile, transaction_id=transaction_id))

        self._after_reply("remote start", start)
        return call_result.RequestStartTransaction(status="Accepted")

    def _free_evse(self) -> int | None:
        free = [evse for evse in range(1, self.evses + 1) if evse not in self.transactions]
        return free[0] if free else None

    @handles("RequestStopTransaction")
    def on_request_stop_transaction(self, transaction_id: str, **_: Any) -> Any:
        ports = [p for p, tx in self.transactions.items() if tx.transaction_id == transaction_id]
        if not ports:
            return call_result.RequestStopTransaction(status="Rejected")
        port = ports[0]
        energy_wh = self.last_reading.get(port, ((), 0.0))[1]

        async def stop() -> None:
            await self.stop_transaction(
                port, energy_wh, stopped_reason="Remote", trigger_reason="RemoteStop"
            )

        self._after_reply("remote stop", stop)
        return call_result.RequestStopTransaction(status="Accepted")

    @handles("Reset")
    def on_reset(self, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @handles("TriggerMessage")
    def on_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        port = int((evse or {}).get("id", 1))
        follow_up = self._triggered(requested_message, port)
        if follow_up is None:
            return call_result.TriggerMessage(status="NotImplemented")
        self._after_reply(f"triggered {requested_message}", follow_up)
        return call_result.TriggerMessage(status="Accepted")

    def _triggered(self, message: str, port: int) -> FollowUp | None:
        async def boot() -> None:
            await self.boot(reason="Triggered")

        return triggered(self, message, port, boot)

    @handles("UnlockConnector")
    def on_unlock_connector(self, **_: Any) -> Any:
        return call_result.UnlockConnector(status="Unlocked")

    @handles("ChangeAvailability")
    def on_change_availability(self, **_: Any) -> Any:
        return call_result.ChangeAvailability(status="Accepted")

    @handles("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")
