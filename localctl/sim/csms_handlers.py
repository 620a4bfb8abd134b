"""What the stub CSMS answers to station-initiated CALLs, one handler class per version.

Every answer is the plain "all is well" answer of a permissive CSMS, so that tests see the
relay's behaviour and not the CSMS's opinions. Id tokens are accepted unless
`CsmsPolicy.accepted_id_tokens` names the ones to accept.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ocpp.v16 import call_result as result16

from localctl.sim.ocpp_glue import handles, iso_utc, utc_now


@dataclass
class CsmsPolicy:
    """Answers shared by all connections of one stub CSMS."""

    heartbeat_interval_s: int = 300
    accepted_id_tokens: frozenset[str] | None = None
    _transaction_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def token_status(self, token: str) -> str:
        accepted = self.accepted_id_tokens is None or token in self.accepted_id_tokens
        return "Accepted" if accepted else "Invalid"

    def next_transaction_id(self) -> int:
        return next(self._transaction_ids)


def _now() -> str:
    return iso_utc(utc_now())


class Csms16Handlers:
    """OCPP 1.6 central-system side."""

    def __init__(self, policy: CsmsPolicy) -> None:
        self._policy = policy

    @handles("BootNotification")
    def on_boot_notification(self, **_: Any) -> Any:
        interval = self._policy.heartbeat_interval_s
        return result16.BootNotification(current_time=_now(), interval=interval, status="Accepted")

    @handles("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return result16.Heartbeat(current_time=_now())

    @handles("StatusNotification")
    def on_status_notification(self, **_: Any) -> Any:
        return result16.StatusNotification()

    @handles("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        return result16.Authorize(id_tag_info={"status": self._policy.token_status(id_tag)})

    @handles("StartTransaction")
    def on_start_transaction(self, id_tag: str, **_: Any) -> Any:
        return result16.StartTransaction(
            transaction_id=self._policy.next_transaction_id(),
            id_tag_info={"status": self._policy.token_status(id_tag)},
        )

    @handles("StopTransaction")
    def on_stop_transaction(self, id_tag: str | None = None, **_: Any) -> Any:
        if id_tag is None:
            return result16.StopTransaction()
        return result16.StopTransaction(id_tag_info={"status": self._policy.token_status(id_tag)})

    @handles("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return result16.MeterValues()

    @handles("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return result16.DataTransfer(status="Accepted")

    @handles("DiagnosticsStatusNotification")
    def on_diagnostics_status_notification(self, **_: Any) -> Any:
        return result16.DiagnosticsStatusNotification()

    @handles("FirmwareStatusNotification")
    def on_firmware_status_notification(self, **_: Any) -> Any:
        return result16.FirmwareStatusNotification()


class Csms201Handlers:
    """OCPP 2.0.1 CSMS side; also serves 2.1 when given that version's `call_result`."""

    def __init__(self, policy: CsmsPolicy, call_result: ModuleType) -> None:
        self._policy = policy
        self._result = call_result

    def _id_token_info(self, id_token: dict[str, Any]) -> dict[str, str]:
        return {"status": self._policy.token_status(str(id_token.get("id_token", "")))}

    @handles("BootNotification")
    def on_boot_notification(self, **_: Any) -> Any:
        interval = self._policy.heartbeat_interval_s
        return self._result.BootNotification(
            current_time=_now(), interval=interval, status="Accepted"
        )

    @handles("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return self._result.Heartbeat(current_time=_now())

    @handles("StatusNotification")
    def on_status_notification(self, **_: Any) -> Any:
        return self._result.StatusNotification()

    @handles("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        return self._result.Authorize(id_token_info=self._id_token_info(id_token))

    @handles("TransactionEvent")
    def on_transaction_event(self, id_token: dict[str, Any] | None = None, **_: Any) -> Any:
        # The CSMS answers idTokenInfo exactly when the station presented a token.
        if id_token is None:
            return self._result.TransactionEvent()
        return self._result.TransactionEvent(id_token_info=self._id_token_info(id_token))

    @handles("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return self._result.MeterValues()

    @handles("NotifyReport")
    def on_notify_report(self, **_: Any) -> Any:
        return self._result.NotifyReport()

    @handles("NotifyEVChargingNeeds")
    def on_notify_ev_charging_needs(self, **_: Any) -> Any:
        return self._result.NotifyEVChargingNeeds(status="Accepted")

    @handles("NotifyEVChargingSchedule")
    def on_notify_ev_charging_schedule(self, **_: Any) -> Any:
        return self._result.NotifyEVChargingSchedule(status="Accepted")

    @handles("NotifyChargingLimit")
    def on_notify_charging_limit(self, **_: Any) -> Any:
        return self._result.NotifyChargingLimit()

    @handles("ClearedChargingLimit")
    def on_cleared_charging_limit(self, **_: Any) -> Any:
        return self._result.ClearedChargingLimit()

    @handles("ReportChargingProfiles")
    def on_report_charging_profiles(self, **_: Any) -> Any:
        return self._result.ReportChargingProfiles()

    @handles("NotifyEvent")
    def on_notify_event(self, **_: Any) -> Any:
        return self._result.NotifyEvent()

    @handles("NotifyMonitoringReport")
    def on_notify_monitoring_report(self, **_: Any) -> Any:
        return self._result.NotifyMonitoringReport()

    @handles("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return self._result.DataTransfer(status="Accepted")

    @handles("SecurityEventNotification")
    def on_security_event_notification(self, **_: Any) -> Any:
        return self._result.SecurityEventNotification()

    @handles("FirmwareStatusNotification")
    def on_firmware_status_notification(self, **_: Any) -> Any:
        return self._result.FirmwareStatusNotification()

    @handles("LogStatusNotification")
    def on_log_status_notification(self, **_: Any) -> Any:
        return self._result.LogStatusNotification()
