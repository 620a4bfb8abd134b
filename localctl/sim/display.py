"""A text view of the simulated site for `make demo`: each phase's current against its fuse."""

from __future__ import annotations

from localctl.config.site import GRID_PHASES
from localctl.sim.site import SimSite

BAR_WIDTH = 30


def _bar(current_a: float, fuse_a: float) -> str:
    filled = 0 if fuse_a <= 0 else min(BAR_WIDTH, round(BAR_WIDTH * current_a / fuse_a))
    return "#" * filled + "." * (BAR_WIDTH - filled)


def phase_lines(site: SimSite) -> list[str]:
    """One line per fused node and phase: current, fuse, a bar, and OVER when above."""
    lines = []
    for node in site.model.site.nodes:
        if node.fuse_a is None:
            continue
        currents = site.node_currents_a[node.id]
        for phase, current_a, fuse_a in zip(GRID_PHASES, currents, node.fuse_a, strict=True):
            flag = " OVER" if current_a > fuse_a else ""
            lines.append(
                f"{node.id:>12} {phase} {current_a:6.1f} / {fuse_a:5.1f} A "
                f"[{_bar(current_a, fuse_a)}]{flag}"
            )
    return lines


def session_lines(site: SimSite) -> list[str]:
    """One line per plugged-in EV: where, offered and drawn current, state of charge."""
    offers = site.offers_a()
    lines = []
    for evse_id, session in sorted(site.sessions.items()):
        state = site.model.evses[evse_id]
        soc = "" if state.ev is None else f" SoC {state.ev.soc * 100:3.0f} %"
        drawn = "/".join(f"{amps:.1f}" for amps in state.drawn_a)
        lines.append(
            f"{evse_id:>8} {session.station_id}#{session.port} offered "
            f"{offers.get(evse_id, 0.0):5.1f} A drawn {drawn} A{soc}"
        )
    return lines
