"""Remote configuration and station commands. Each goes through the station's sending queue
(the relay's `call`) and lands in the event log with its result."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from fastapi import APIRouter

from localctl.api import schemas as s
from localctl.api.remote import CommandResult
from localctl.api.station_config import ParameterResult
from localctl.model.commands import (
    Command,
    RemoteStart,
    RemoteStop,
    Reset,
    TriggerMessage,
    Unlock,
)

if TYPE_CHECKING:
    from localctl.api.service import OperatorApi


def stations_router(api: OperatorApi) -> APIRouter:
    router = APIRouter(tags=["stations"])
    remote = api.remote

    @router.get(
        "/stations/{station_id}/configuration",
        summary="read a station's whole configuration (1.6 GetConfiguration; 2.0.1 "
        "GetBaseReport and the NotifyReport frames that follow)",
    )
    async def read_all(station_id: str) -> s.ConfigReadOut:
        read = await remote.read_all(station_id)
        return s.ConfigReadOut(
            station_id=read.station_id,
            ocpp_version=read.ocpp_version,
            status=read.status,
            complete=read.complete,
            detail=read.detail,
            entries=[s.ConfigEntryOut(**dataclasses.asdict(e)) for e in read.entries],
            unknown_keys=read.unknown_keys,
        )

    @router.post(
        "/stations/{station_id}/configuration/read",
        summary="read some keys (1.6 GetConfiguration; 2.0.1 GetVariables)",
    )
    async def read_keys(station_id: str, body: s.ConfigKeysIn) -> list[s.ParameterResultOut]:
        return [_result(r) for r in await remote.read_keys(station_id, tuple(body.keys))]

    @router.post(
        "/configuration",
        summary="change values on one or many stations (1.6 ChangeConfiguration; 2.0.1 "
        "SetVariables): a result per station and per parameter",
    )
    async def change(body: s.ConfigChangeIn) -> s.ConfigChangeOut:
        results = await remote.change(list(dict.fromkeys(body.station_ids)), body.values)
        return s.ConfigChangeOut(
            results={station: [_result(r) for r in rs] for station, rs in results.items()}
        )

    async def command(station_id: str, cmd: Command) -> s.CommandOut:
        return _command(await remote.command(station_id, cmd))

    @router.post("/stations/{station_id}/remote-start", summary="start a transaction")
    async def remote_start(station_id: str, body: s.RemoteStartIn) -> s.CommandOut:
        return await command(station_id, RemoteStart(body.evse_id, body.id_token))

    @router.post("/stations/{station_id}/remote-stop", summary="stop a transaction")
    async def remote_stop(station_id: str, body: s.RemoteStopIn) -> s.CommandOut:
        return await command(station_id, RemoteStop(body.transaction_id))

    @router.post("/stations/{station_id}/unlock", summary="unlock a connector")
    async def unlock(station_id: str, body: s.UnlockIn) -> s.CommandOut:
        return await command(station_id, Unlock(body.evse_id, body.connector_id))

    @router.post("/stations/{station_id}/reset", summary="reset the station")
    async def reset(station_id: str, body: s.ResetIn) -> s.CommandOut:
        return await command(station_id, Reset(body.hard))

    @router.post("/stations/{station_id}/trigger", summary="ask the station to send a message")
    async def trigger(station_id: str, body: s.TriggerIn) -> s.CommandOut:
        return await command(station_id, TriggerMessage(body.message, body.evse_id))

    return router


def _result(result: ParameterResult) -> s.ParameterResultOut:
    return s.ParameterResultOut(
        key=result.key, status=result.status, value=result.value, detail=result.detail
    )


def _command(result: CommandResult) -> s.CommandOut:
    return s.CommandOut(
        station_id=result.station_id,
        action=result.action,
        status=result.status,
        detail=result.detail,
    )
