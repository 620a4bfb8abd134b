"""Say in words why an EVSE got what it got (for the CLI and for operators)."""

from __future__ import annotations

from collections.abc import Sequence

from optimizer import result
from optimizer.model import Evse, Session, Site
from optimizer.result import Allocation
from optimizer.tree import MIX, PHASE_NAMES, POWER, Row, SiteTree, build_tree

CAP_WORDS = {
    result.EVSE_MAX: "the EVSE's own maximum current",
    result.EV_MAX: "the vehicle's maximum current",
    result.ENERGY_NEEDED: "the energy the vehicle still needs within one control period",
    result.UNUSED_CAPACITY: "its measured draw plus a margin (it was not using its allocation)",
    result.RAMP: "the ramp limit on increases per cycle",
}


def explain(site: Site, sessions: Sequence[Session], allocation: Allocation, evse_id: str) -> str:
    """A few sentences: the limit, the constraint that bound it, and what else was in play."""
    tree = build_tree(site)
    evse = tree.evses[evse_id]
    entry = allocation.evse(evse_id)
    session = next((s for s in sessions if s.evse_id == evse_id), None)
    lines = [_headline(evse, entry)]
    lines.append(_reason(tree, allocation, entry, evse))
    if session is not None:
        lines.append(_session_line(session, evse))
    return "\n".join(lines)


def _phase_list(phases: Sequence[int]) -> str:
    return ", ".join(PHASE_NAMES[p] for p in phases)


def _headline(evse: Evse, entry: result.EvseAllocation) -> str:
    wiring = ", ".join(
        f"{PHASE_NAMES[k]}->grid {PHASE_NAMES[p]}" for k, p in enumerate(evse.phase_map)
    )
    loaded = [p for p in range(3) if entry.grid_current_a[p] > 0]
    where = f" (grid {_phase_list(loaded)})" if loaded else ""
    return (
        f"EVSE {evse.evse_id} at node {evse.node_id}, wired {wiring}: "
        f"{entry.limit_a:g} A per phase on {entry.phases} phase(s){where}."
    )


def _reason(
    tree: SiteTree, allocation: Allocation, entry: result.EvseAllocation, evse: Evse
) -> str:
    reason = entry.bound_by
    if reason in CAP_WORDS:
        return f"Bound by {reason}: {CAP_WORDS[reason]}."
    if reason == result.NO_SESSION:
        return "No vehicle is plugged in, so it gets 0 A."
    if reason == result.MIN_CURRENT_ADMISSION:
        return (
            f"Bound by {reason}: its minimum of {evse.min_current_a:g} A did not fit next to "
            "the sessions ranked before it (priority, then least laxity, then longest "
            "waiting). It gets 0 A now and moves up the queue while it waits. "
            + _full_rows(tree, allocation, evse)
        )
    if reason == result.PRIORITY:
        return (
            "Bound by priority: it holds its minimum while higher-priority sessions use the "
            "rest of a shared limit. " + _full_rows(tree, allocation, evse)
        )
    row = next(r for r in tree.rows if r.label == reason)
    return f"Bound by {reason}: {_row_words(row)} is full. " + _sharers(allocation, tree, row)


def _row_words(row: Row) -> str:
    if row.phase == MIX:
        return f"phase mix {row.mix_index} of the {row.source} limit of node {row.node_id}"
    if row.phase == POWER:
        return f"the {row.source} power limit of node {row.node_id}"
    return f"the {row.source} limit of node {row.node_id} on grid {PHASE_NAMES[row.phase]}"


def _sharers(allocation: Allocation, tree: SiteTree, row: Row) -> str:
    names = []
    for entry in allocation.evses:
        evse = tree.evses[entry.evse_id]
        if row.node_id not in tree.ancestors[evse.node_id] or entry.limit_a == 0:
            continue
        if row.phase < 0 or entry.grid_current_a[row.phase] > 0:
            names.append(f"{entry.evse_id} {entry.limit_a:g} A")
    return f"It is shared max-min fairly by {len(names)} session(s): {', '.join(names)}."


def _full_rows(tree: SiteTree, allocation: Allocation, evse: Evse) -> str:
    headroom = {n.node_id: n for n in allocation.nodes}
    tight = []
    for node_id in tree.ancestors[evse.node_id]:
        node = headroom[node_id]
        for phase in evse.phase_map:
            left = node.headroom_a[phase]
            if left is not None and left < evse.min_current_a:
                tight.append(f"node {node_id} {PHASE_NAMES[phase]} has {left:g} A left")
        if node.headroom_w is not None:
            tight.append(f"node {node_id} power has {node.headroom_w:g} W left")
    return ("Now: " + "; ".join(tight) + ".") if tight else ""


def _session_line(session: Session, evse: Evse) -> str:
    wired = _phase_list(sorted(evse.phase_map))
    phases = (
        f"{session.phases_in_use} phase(s) in use"
        if session.phases_in_use is not None
        else f"phases in use unknown, so counted on every wired phase ({wired})"
    )
    extra = ""
    if session.ev_max_current_a is not None:
        extra += f", EV max {session.ev_max_current_a:g} A"
    if session.departure_s is not None and session.energy_needed_wh is not None:
        extra += f", needs {session.energy_needed_wh:g} Wh by {session.departure_s:g} s"
    return (
        f"Session: priority class {session.priority}, {phases}, arrived at "
        f"{session.arrival_s:g} s{extra}; EVSE range {evse.min_current_a:g}-"
        f"{evse.max_current_a:g} A."
    )
