"""Hypothesis strategies: random but valid sites (a tree up to three levels) and sessions."""

from __future__ import annotations

from hypothesis import strategies as st

from optimizer import Evse, Node, NodeLimit, Session, Site

PHASE_MAPS = ((0,), (1,), (2,), (0, 1, 2), (1, 2, 0), (2, 0, 1))


@st.composite
def limits(draw: st.DrawFn, low: float, high: float, power: bool = True) -> tuple[NodeLimit, ...]:
    amps = st.floats(low, high).map(lambda a: round(a, 1))
    found = [NodeLimit("fuse", (draw(amps), draw(amps), draw(amps)))]
    if draw(st.booleans()):
        found.append(NodeLimit("csms", (draw(amps), draw(amps), draw(amps))))
    if power and draw(st.booleans()):
        found.append(NodeLimit("ems", max_power_w=draw(st.floats(2_000.0, 60_000.0))))
    return tuple(found)


@st.composite
def sites(
    draw: st.DrawFn,
    max_evses: int = 10,
    phase_maps: tuple[tuple[int, ...], ...] = PHASE_MAPS,
    power: bool = True,
) -> Site:
    nodes = [Node("main", limits=draw(limits(16.0, 120.0, power)))]
    for child in range(draw(st.integers(0, 3))):
        parent = draw(st.sampled_from([node.node_id for node in nodes]))
        nodes.append(Node(f"n{child}", parent_id=parent, limits=draw(limits(6.0, 63.0, power))))
    evses = []
    for index in range(draw(st.integers(1, max_evses))):
        step = draw(st.sampled_from([None, None, 0.5, 1.0]))
        evses.append(
            Evse(
                f"e{index:02d}",
                draw(st.sampled_from([node.node_id for node in nodes])),
                phase_map=draw(st.sampled_from(phase_maps)),
                min_current_a=draw(st.sampled_from([0.0, 6.0, 6.0, 8.0])),
                max_current_a=draw(st.sampled_from([10.0, 16.0, 32.0])),
                current_step_a=step,
                can_switch_phases=draw(st.booleans()),
            )
        )
    return Site(tuple(nodes), tuple(evses))


@st.composite
def sessions_for(draw: st.DrawFn, site: Site, classes: int = 2) -> list[Session]:
    found: list[Session] = []
    for evse in site.evses:
        if not draw(st.booleans()) and len(found) > 0:
            continue
        found.append(
            Session(
                evse.evse_id,
                arrival_s=float(draw(st.integers(0, 100))),
                phases_in_use=draw(st.sampled_from([None, 1, 3])),
                ev_max_current_a=draw(st.sampled_from([None, None, 7.0, 13.5, 20.0])),
                priority=draw(st.integers(0, classes - 1)),
            )
        )
    return found


@st.composite
def instances(draw: st.DrawFn, max_evses: int = 10) -> tuple[Site, list[Session]]:
    site = draw(sites(max_evses))
    return site, draw(sessions_for(site))
