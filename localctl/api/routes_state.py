"""GET endpoints: what the site, its EVSEs, stations, sessions and inputs look like now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query

from localctl.api import schemas as s

if TYPE_CHECKING:
    from localctl.api.service import OperatorApi


def state_router(api: OperatorApi) -> APIRouter:
    router = APIRouter(tags=["state"])
    views = api.views

    @router.get("/site", summary="the site tree: current per phase, limits, headroom")
    def site() -> s.SiteOut:
        return views.site()

    @router.get("/evses", summary="every EVSE: state, limit and what bound it")
    def evses() -> list[s.EvseOut]:
        return views.evses()

    @router.get("/evses/{evse_id}", summary="one EVSE")
    def evse(evse_id: str) -> s.EvseOut:
        return views.evse(evse_id)

    @router.get("/evses/{evse_id}/explain", summary="why an EVSE gets what it gets")
    def explain(evse_id: str) -> s.ExplainOut:
        return views.explain(evse_id)

    @router.get("/sessions", summary="sessions in progress, with the needs the optimizer uses")
    def sessions() -> list[s.SessionOut]:
        return views.sessions()

    @router.get("/stations", summary="configured and connected stations")
    def stations() -> list[s.StationOut]:
        return views.stations()

    @router.get("/stations/{station_id}", summary="one station")
    def station(station_id: str) -> s.StationOut:
        return views.station(station_id)

    @router.get("/inputs", summary="meters and EMS limits, with their age")
    def inputs() -> s.InputsOut:
        return views.inputs()

    @router.get("/events", summary="the event log, oldest first, after `after`")
    def events(
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[s.EventOut]:
        return [
            s.EventOut(
                seq=e.seq,
                time=datetime.fromtimestamp(e.time_s, UTC),
                kind=e.kind,
                message=e.message,
                station_id=e.station_id,
                details=dict(e.details),
            )
            for e in api.events.since(after, limit)
        ]

    @router.get("/history", summary="the chart's samples: measured and allocated current")
    def history() -> s.HistoryOut:
        return s.HistoryOut(
            interval_s=api.history.interval_s,
            limits_a=views.node_current_limits(),
            samples=list(api.history.samples),
        )

    return router
