"""The controller's own identity towards the CSMS, sans-I/O.

OCPP 2.0.1 part 4, 6.2: the local controller may open a connection of its own so the CSMS can
address it, for example to set an overall limit on the group. The controller appears as a
charging station with no EVSEs; a CSMS sets a group limit with ChargePointMaxProfile (1.6) or
ChargingStationMaxProfile (2.0.1) on connector/EVSE 0. That limit becomes a node limit (source
``csms``) on the configured node, and GetCompositeSchedule reports it. Other purposes are
rejected: the group has no transactions of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from localctl.model.clearing import ClearSpec
from localctl.model.composite import composite_limit_at
from localctl.model.errors import UnreadablePayloadError
from localctl.model.profiles import ProfilePurpose, ProfileSpec
from localctl.relay.frames import Call, JsonObject
from localctl.relay.versions import OcppVersion

Answer = JsonObject | tuple[str, str]
"""A CALLRESULT payload, or (error code, description) for a CALLERROR."""


class ControllerIdentity:
    """What the controller answers on its own connection, and the group limit it was given."""

    def __init__(
        self,
        station_id: str,
        version: OcppVersion,
        nominal_voltage_v: float,
        heartbeat_interval_s: int = 300,
    ) -> None:
        self.station_id = station_id
        self.version = version
        self.heartbeat_interval_s = heartbeat_interval_s
        self._nominal_voltage_v = nominal_voltage_v
        self.profiles: dict[int, ProfileSpec] = {}
        self._handlers: dict[str, Callable[[JsonObject, datetime], Answer]] = {
            "SetChargingProfile": self._set_profile,
            "ClearChargingProfile": self._clear_profile,
            "GetCompositeSchedule": self._composite,
            "TriggerMessage": self._trigger,
        }
        self.triggered: list[str] = []
        """messages the CSMS asked for with TriggerMessage, for the shell to send"""

    def boot_payload(self) -> tuple[str, JsonObject]:
        if self.version is OcppVersion.V16:
            return "BootNotification", {
                "chargePointVendor": "localctl",
                "chargePointModel": "local-controller",
            }
        station = {"vendorName": "localctl", "model": "local-controller"}
        return "BootNotification", {"reason": "PowerUp", "chargingStation": station}

    def boot_answered(self, payload: JsonObject) -> bool:
        """Take the CSMS's heartbeat interval; True when the boot was accepted."""
        interval = payload.get("interval")
        if isinstance(interval, int) and interval > 0:
            self.heartbeat_interval_s = interval
        return payload.get("status") == "Accepted"

    def handle(self, call: Call, now: datetime) -> Answer:
        handler = self._handlers.get(call.action)
        if handler is None:
            return "NotSupported", f"the local controller does not support {call.action}"
        try:
            return handler(call.payload, now)
        except UnreadablePayloadError as exc:
            return "FormatViolation", str(exc)

    def group_limit_a(self, now: datetime) -> float | None:
        """The CSMS's limit on the whole group per phase now, or None without one."""
        limit_a, _ = composite_limit_at(self.profiles.values(), now, 0, self._nominal_voltage_v, 3)
        return limit_a

    # -- handlers ----------------------------------------------------------------------------

    def _set_profile(self, payload: JsonObject, now: datetime) -> Answer:
        spec = ProfileSpec.from_payload(self.version, payload)
        if spec.purpose is not ProfilePurpose.STATION_MAX or spec.evse_id != 0:
            return {"status": "Rejected"}
        self.profiles[spec.profile_id] = spec
        return {"status": "Accepted"}

    def _clear_profile(self, payload: JsonObject, now: datetime) -> Answer:
        clear = ClearSpec.from_payload(self.version, payload)
        removed = [i for i, p in self.profiles.items() if clear.removes(p)]
        for profile_id in removed:
            del self.profiles[profile_id]
        return {"status": "Accepted" if removed else "Unknown"}

    def _composite(self, payload: JsonObject, now: datetime) -> Answer:
        duration_s = payload.get("duration")
        if not isinstance(duration_s, int) or duration_s <= 0:
            return "PropertyConstraintViolation", "duration must be a positive integer"
        periods = self._periods(now, duration_s)
        start = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not periods:
            return {"status": "Rejected"}
        schedule = {
            "duration": duration_s,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": periods,
        }
        if self.version is OcppVersion.V16:
            return {
                "status": "Accepted",
                "connectorId": 0,
                "scheduleStart": start,
                "chargingSchedule": schedule,
            }
        return {"status": "Accepted", "schedule": {"evseId": 0, "scheduleStart": start, **schedule}}

    def _periods(self, now: datetime, duration_s: int) -> list[JsonObject]:
        """The group limit over [now, now + duration], as OCPP schedule periods."""
        periods: list[JsonObject] = []
        for offset_s in self._change_points(now, duration_s):
            limit_a = self.group_limit_a(now + timedelta(seconds=offset_s))
            if limit_a is None:
                continue
            if not periods or periods[-1]["limit"] != limit_a:
                periods.append({"startPeriod": offset_s, "limit": limit_a})
        return periods

    def _change_points(self, now: datetime, duration_s: int) -> list[int]:
        """Offsets from now where a stored profile may change the limit."""
        points = {0}
        for spec in self.profiles.values():
            moments = [spec.valid_from, spec.valid_to]
            if spec.schedule_start is not None:
                moments += [
                    spec.schedule_start + timedelta(seconds=p.start_offset_s) for p in spec.periods
                ]
            for moment in moments:
                if moment is not None and now < moment < now + timedelta(seconds=duration_s):
                    points.add(int((moment - now).total_seconds()) + 1)
        return sorted(points)

    def _trigger(self, payload: JsonObject, now: datetime) -> Answer:
        message = payload.get("requestedMessage")
        if message in ("BootNotification", "Heartbeat"):
            self.triggered.append(str(message))
            return {"status": "Accepted"}
        return {"status": "NotImplemented"}
