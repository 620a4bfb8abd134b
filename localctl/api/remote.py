"""Remote configuration and commands: the asyncio shell around `station_config`.

Every call is the controller's own call through `RelayServer.call`, so it waits in the
station's sending queue behind any call in flight (OCPP-J: one CALL outstanding per
direction). Every operation is written to the event log with what was asked and the result.
NotifyReport frames (2.0.1) reach `on_frame` from the relay's listener and are collected by
requestId for the GetBaseReport that asked for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from localctl.api import station_config as sc
from localctl.api.event_log import EventLog
from localctl.io.relay_server import RelayServer
from localctl.io.station_link import OwnCallError
from localctl.model.commands import Command, to_call
from localctl.model.errors import NotExpressibleError
from localctl.model.outcomes import interpret
from localctl.relay.events import FrameRelayed, Side
from localctl.relay.frames import MessageType
from localctl.relay.versions import OcppVersion

# Request ids the controller gives its own GetBaseReport calls: far above what a CSMS usually
# counts to, so the NotifyReport frames it causes are not taken for the CSMS's own reports.
_REQUEST_ID_BASE = 2_000_000_000


class StationOfflineError(Exception):
    """The station is not connected."""


@dataclass(frozen=True, slots=True)
class ConfigRead:
    station_id: str
    ocpp_version: str
    entries: list[sc.ConfigEntry]
    unknown_keys: list[str] = field(default_factory=list)
    complete: bool = True
    status: str = "Accepted"
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    station_id: str
    action: str
    status: str
    detail: str | None = None


@dataclass(slots=True)
class _PendingReport:
    assembly: sc.ReportAssembly
    done: asyncio.Event


class RemoteStations:
    def __init__(
        self,
        relay: RelayServer,
        events: EventLog,
        *,
        locked: tuple[str, ...],
        report_timeout_s: float,
        next_request_id: Callable[[], int],
    ) -> None:
        self._relay = relay
        self._events = events
        self._locked = locked
        self._report_timeout_s = report_timeout_s
        self._next_request_id = next_request_id
        self._reports: dict[tuple[str, int], _PendingReport] = {}
        self._items_per_message: dict[tuple[str, str], int | None] = {}

    def version(self, station_id: str) -> OcppVersion:
        link = self._relay.link(station_id)
        if link is None:
            raise StationOfflineError(station_id)
        return link.session.version

    # -- the relay's listener ----------------------------------------------------------------

    def on_frame(self, station_id: str, event: FrameRelayed) -> None:
        if not self._reports or event.action != "NotifyReport":
            return
        if event.source is not Side.STATION or event.message_type is not MessageType.CALL:
            return
        request_id = event.payload.get("requestId")
        pending = (
            self._reports.get((station_id, request_id)) if isinstance(request_id, int) else None
        )
        if pending is not None:
            pending.assembly.add(dict(event.payload))
            if pending.assembly.complete:
                pending.done.set()

    # -- reading -----------------------------------------------------------------------------

    async def read_all(self, station_id: str) -> ConfigRead:
        version = self.version(station_id)
        request_id = _REQUEST_ID_BASE + self._next_request_id()
        call = sc.read_all_call(version, request_id)
        if version is OcppVersion.V16:
            result = await self._read_16(station_id, call)
        else:
            result = await self._read_report(station_id, call, request_id)
        self._log_read(result, "whole configuration")
        return result

    async def _read_16(self, station_id: str, call: sc.Call) -> ConfigRead:
        try:
            payload = await self._relay.call(station_id, call.action, call.payload)
        except OwnCallError as exc:
            return ConfigRead(
                station_id, "ocpp1.6", [], status=exc.error_code, detail=exc.description
            )
        entries, unknown = sc.configuration_entries(dict(payload))
        return ConfigRead(station_id, "ocpp1.6", entries, unknown)

    async def _read_report(self, station_id: str, call: sc.Call, request_id: int) -> ConfigRead:
        version = self.version(station_id).value
        pending = _PendingReport(sc.ReportAssembly(), asyncio.Event())
        self._reports[(station_id, request_id)] = pending
        try:
            try:
                answer = await self._relay.call(station_id, call.action, call.payload)
            except OwnCallError as exc:
                return ConfigRead(
                    station_id, version, [], status=exc.error_code, detail=exc.description
                )
            status = str(answer.get("status"))
            if status != "Accepted":  # B07.FR.02, B07.FR.13: no report follows
                return ConfigRead(station_id, version, [], status=status)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._report_timeout_s):
                    await pending.done.wait()
            complete = pending.assembly.complete
            detail = None if complete else f"report incomplete after {self._report_timeout_s} s"
            return ConfigRead(
                station_id, version, pending.assembly.entries(), complete=complete,
                status="Accepted" if complete else "Timeout", detail=detail,
            )  # fmt: skip
        finally:
            del self._reports[(station_id, request_id)]

    async def read_keys(self, station_id: str, keys: tuple[str, ...]) -> list[sc.ParameterResult]:
        version = self.version(station_id)
        max_items = await self._max_items(station_id, version, "GetVariables", len(keys))
        calls, unexpressible = sc.read_keys_calls(version, keys, max_items)
        results = [sc.ParameterResult(k, sc.NOT_EXPRESSIBLE) for k in unexpressible]
        for call in calls:
            try:
                payload = dict(await self._relay.call(station_id, call.action, call.payload))
            except OwnCallError as exc:
                results += sc.failed_call(call, {}, exc.error_code, exc.description)
            else:
                results += _read_results(version, call, payload)
        self._events.record(
            "config_read", f"read {', '.join(keys)} from {station_id}",
            station_id=station_id, details={"results": [_plain(r) for r in results]},
        )  # fmt: skip
        return results

    async def _max_items(
        self, station_id: str, version: OcppVersion, action: str, count: int
    ) -> int | None:
        """2.0.1: how many variables one `action` may carry (B05.FR.11, B06.FR.05), asked once
        per connection and only when more than one is to be sent; None: as many as needed."""
        if version is OcppVersion.V16 or count <= 1:
            return None
        if (station_id, action) not in self._items_per_message:
            call = sc.items_per_message_call(action)
            try:
                answer = await self._relay.call(station_id, call.action, call.payload)
            except OwnCallError:
                return None
            self._items_per_message[(station_id, action)] = sc.items_per_message(dict(answer))
        return self._items_per_message[(station_id, action)]

    def forget(self, station_id: str) -> None:
        """The station's connection ended: what it said about itself may change."""
        for key in [k for k in self._items_per_message if k[0] == station_id]:
            del self._items_per_message[key]

    def _log_read(self, result: ConfigRead, what: str) -> None:
        self._events.record(
            "config_read",
            f"read {what} of {result.station_id}: {result.status}, {len(result.entries)} values",
            station_id=result.station_id,
            details={"status": result.status, "values": len(result.entries)},
        )

    # -- changing ----------------------------------------------------------------------------

    async def change(
        self, station_ids: list[str], values: Mapping[str, str]
    ) -> dict[str, list[sc.ParameterResult]]:
        """Set `values` on every station at once; per station, per parameter, the result."""
        results = await asyncio.gather(*(self._change_one(s, values) for s in station_ids))
        return dict(zip(station_ids, results, strict=True))

    async def _change_one(
        self, station_id: str, values: Mapping[str, str]
    ) -> list[sc.ParameterResult]:
        try:
            version = self.version(station_id)
        except StationOfflineError:
            results = [sc.ParameterResult(k, "NotConnected", v) for k, v in values.items()]
        else:
            max_items = await self._max_items(station_id, version, "SetVariables", len(values))
            plan = sc.plan_change(version, values, self._locked, max_items)
            results = list(plan.refused)
            for call in plan.calls:
                results += await self._send_change(station_id, plan, call, values)
        self._events.record(
            "config_change",
            f"{station_id}: " + ", ".join(f"{r.key}={r.value} {r.status}" for r in results),
            station_id=station_id,
            details={"results": [_plain(r) for r in results]},
        )
        return results

    async def _send_change(
        self, station_id: str, plan: sc.ChangePlan, call: sc.Call, values: Mapping[str, str]
    ) -> list[sc.ParameterResult]:
        try:
            payload = await self._relay.call(station_id, call.action, call.payload)
        except OwnCallError as exc:
            return sc.failed_call(call, values, exc.error_code, exc.description)
        return sc.change_results(plan, call, values, dict(payload))

    # -- commands ------------------------------------------------------------------------------

    async def command(self, station_id: str, command: Command) -> CommandResult:
        """Remote start and stop, unlock, reset, trigger message: one call, one result."""
        version = self.version(station_id)
        try:
            action, payload = to_call(command, version)
        except NotExpressibleError as exc:
            result = CommandResult(station_id, type(command).__name__, sc.NOT_EXPRESSIBLE, str(exc))
        else:
            result = await self._send_command(station_id, command, version, action, payload)
        self._events.record(
            "command", f"{result.action} on {station_id}: {result.status}",
            station_id=station_id, details={"command": repr(command), **_plain(result)},
        )  # fmt: skip
        return result

    async def _send_command(
        self,
        station_id: str,
        command: Command,
        version: OcppVersion,
        action: str,
        payload: dict[str, object],
    ) -> CommandResult:
        try:
            answer = await self._relay.call(station_id, action, payload)
        except OwnCallError as exc:
            return CommandResult(station_id, action, exc.error_code, exc.description)
        outcome = interpret(command, version, dict(answer))
        return CommandResult(
            station_id, action, outcome.raw_status or outcome.status.value, outcome.reason
        )


def _read_results(
    version: OcppVersion, call: sc.Call, payload: dict[str, object]
) -> list[sc.ParameterResult]:
    if version is not OcppVersion.V16:
        return sc.get_variables_results(call.keys, payload)
    entries, unknown = sc.configuration_entries(payload)
    by_key = {e.key: e for e in entries}
    return [
        sc.ParameterResult(k, "Accepted", by_key[k].value)
        if k in by_key
        else sc.ParameterResult(k, "UnknownKey" if k in unknown else sc.NO_ANSWER)
        for k in call.keys
    ]


def _plain(result: sc.ParameterResult | CommandResult) -> dict[str, object]:
    if isinstance(result, CommandResult):
        return {"action": result.action, "status": result.status, "detail": result.detail}
    return {
        "key": result.key,
        "value": result.value,
        "status": result.status,
        "detail": result.detail,
    }
