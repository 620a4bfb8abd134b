"""Operator commands on the control loop: a temporary node limit, an EVSE's needs and
priority, pause and resume. They act through `ControlLoop.overrides`, which wakes the loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, status

from localctl.api import schemas as s
from localctl.api.views import NotFoundError
from localctl.control.overrides import NodeOverride, OperatorOverrides, SessionOverride

if TYPE_CHECKING:
    from localctl.api.service import OperatorApi


def control_router(api: OperatorApi) -> APIRouter:
    router = APIRouter(tags=["control"])
    clocks = api.controller.clocks

    def overrides() -> OperatorOverrides:
        if api.controller.loop is None:
            raise NotFoundError("this controller has no site (relay only)")
        return api.controller.loop.overrides

    def limit_out(override: NodeOverride) -> s.ActiveLimitOut:
        return s.ActiveLimitOut(
            node_id=override.node_id,
            current_a=override.current_a,
            power_w=override.power_w,
            expires_in_s=round(override.until_s - clocks.monotonic(), 1),
        )

    @router.get("/limits", summary="temporary limits an operator set, still in force")
    def limits() -> list[s.ActiveLimitOut]:
        active = overrides()
        active.active_node_limits(clocks.monotonic())
        return [limit_out(o) for o in active.node_limits.values()]

    @router.put("/limits", summary="set a temporary limit on a node (the root by default)")
    def set_limit(body: s.NodeLimitIn) -> s.ActiveLimitOut:
        node_id = body.node_id or api.views.root_id()
        api.views.node(node_id)  # 404 for an unknown node
        override = NodeOverride(
            node_id, body.current_a, body.power_w, clocks.monotonic() + body.duration_s
        )
        overrides().limit_node(override)
        api.events.record(
            "operator_limit",
            f"temporary limit on {node_id}: {_limit_text(override)} for {body.duration_s:g} s",
        )
        return limit_out(override)

    @router.delete(
        "/limits/{node_id}", status_code=status.HTTP_204_NO_CONTENT, summary="lift a limit"
    )
    def clear_limit(node_id: str) -> None:
        if not overrides().clear_node_limit(node_id):
            raise NotFoundError(f"no temporary limit on {node_id!r}")
        api.events.record("operator_limit", f"temporary limit on {node_id} lifted")

    def evse_out(evse_id: str) -> s.EvseOverridesOut:
        current = overrides()
        found = current.sessions.get(evse_id, SessionOverride())
        return s.EvseOverridesOut(
            evse_id=evse_id,
            priority=found.priority,
            departure_time=api.views.wall_time(found.departure_s),
            energy_needed_wh=found.energy_needed_wh,
            paused=evse_id in current.paused,
        )

    @router.get("/evses/{evse_id}/overrides", summary="what an operator set on an EVSE")
    def get_overrides(evse_id: str) -> s.EvseOverridesOut:
        api.views.evse(evse_id)
        return evse_out(evse_id)

    @router.put(
        "/evses/{evse_id}/overrides",
        summary="priority, departure time, energy need (null: what the station reports)",
    )
    def set_overrides(evse_id: str, body: s.EvseOverridesIn) -> s.EvseOverridesOut:
        api.views.evse(evse_id)
        departure_s = None
        if body.departure_time is not None:
            departure_s = clocks.monotonic() + body.departure_time.timestamp() - clocks.wall()
        override = SessionOverride(body.priority, departure_s, body.energy_needed_wh)
        overrides().set_session(evse_id, override)
        api.events.record("operator_evse", f"EVSE {evse_id}: {body.model_dump(exclude_none=True)}")
        return evse_out(evse_id)

    def set_paused(evse_id: str, paused: bool) -> s.EvseOverridesOut:
        api.views.evse(evse_id)
        (overrides().pause if paused else overrides().resume)(evse_id)
        api.events.record("operator_evse", f"EVSE {evse_id} {'paused' if paused else 'resumed'}")
        return evse_out(evse_id)

    @router.post("/evses/{evse_id}/pause", summary="hold an EVSE at 0 A until resumed")
    def pause(evse_id: str) -> s.EvseOverridesOut:
        return set_paused(evse_id, True)

    @router.post("/evses/{evse_id}/resume", summary="let a paused EVSE charge again")
    def resume(evse_id: str) -> s.EvseOverridesOut:
        return set_paused(evse_id, False)

    return router


def _limit_text(override: NodeOverride) -> str:
    parts = []
    if override.current_a is not None:
        parts.append(f"{override.current_a:g} A per phase")
    if override.power_w is not None:
        parts.append(f"{override.power_w:g} W")
    return " and ".join(parts)
