"""One control period of the replay: the Caltech network as a localctl site, then ``allocate``.

Mapping (see docs/acn-replay.md): localctl's grid phases 0, 1, 2 stand for the delta
branches A-B, B-C, C-A, so every line-to-line EVSE is a single-phase localctl EVSE on its
branch. The transformer is the root node; its per-phase limits are the per-branch budgets
of ``acn_budget`` (recomputed every period from the demand, a box inside the exact
phasor limits). The two pods are child nodes with their own limit. Everything below the
budgets - which EVSE gets what, by urgency class, max-min fair within a class, rounding,
headroom - is localctl's optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchmarks.acn_budget import BoxCheck, Triple, branch_budgets, inner_mixes
from benchmarks.acn_network import AcnNetwork
from optimizer import AllocatorState, Evse, Node, NodeLimit, Options, Session, Site, allocate

ROOT = "transformer"
EVSE_MAX_A = 32.0  # acnportal's BASIC EVSE: any pilot from 0 to 32 A
STEP_A = 0.01


@dataclass(frozen=True, slots=True)
class Plugged:
    """What the controller knows of a plugged-in vehicle (as the published MPC knew it)."""

    station_id: str
    arrival_s: float
    departure_s: float
    energy_needed_wh: float
    ev_max_a: float


@dataclass(frozen=True, slots=True)
class Policy:
    """How the replay uses localctl's knobs.

    ``order="horizon"``: one class, shared by localctl's receding-horizon plan
    (``Options(fairness="horizon")``). ``"llf"``/``"edf"``: urgency classes of ``class_s``
    by least laxity or earliest departure, max-min fair within a class.
    """

    class_s: float = 300.0
    order: Literal["llf", "edf", "horizon"] = "horizon"
    period_s: float = 300.0
    voltage_v: float = 208.0
    horizon_s: float = 86_400.0


@dataclass(frozen=True, slots=True)
class PeriodResult:
    limits_a: dict[str, float]
    budgets_a: tuple[float, float, float]
    state: AllocatorState


class Controller:
    """The replay's controller: the mapped site (built once) and one ``allocate`` a period."""

    def __init__(self, network: AcnNetwork, policy: Policy) -> None:
        self.network = network
        self.policy = policy
        self.check = BoxCheck(network)
        self.options = Options(
            method="fast",
            fairness="horizon" if policy.order == "horizon" else "equal",
            default_step_a=STEP_A,
            period_s=policy.period_s,
            horizon_s=policy.horizon_s,
        )
        self.pod_nodes, self.evses = _static_site(network, policy)
        self.state: AllocatorState | None = None
        # The horizon plan chooses the branch split itself, within the phasor limits.
        self.mixes = inner_mixes(network) if policy.order == "horizon" else ()

    def period(self, plugged: Sequence[Plugged], now_s: float) -> PeriodResult:
        """Budgets from the demand, then one ``allocate`` call on the mapped site."""
        if self.mixes:
            budgets = (math.inf, math.inf, math.inf)
            limit = NodeLimit("transformer", mixes=self.mixes)
        else:
            demand_a = branch_demand_a(self.network, plugged, self.policy)
            budgets = branch_budgets(self.check, demand_a)
            limit = NodeLimit("budget", max_current_a=budgets)
        if not plugged:
            return PeriodResult({}, budgets, self.state or AllocatorState())
        root = Node(ROOT, limits=(limit,), nominal_voltage_v=self.policy.voltage_v)
        site = Site((root, *self.pod_nodes), self.evses)
        sessions = [_session(p, now_s, self.policy) for p in plugged]
        allocation = allocate(site, sessions, now_s, self.options, self.state)
        self.state = allocation.state
        limits = {entry.evse_id: entry.limit_a for entry in allocation.evses}
        return PeriodResult(limits, budgets, allocation.state)


def laxity_s(plugged: Plugged, now_s: float, policy: Policy) -> float:
    """Time to spare before departure if charged at full rate from now on."""
    full_s = (
        plugged.energy_needed_wh * 3600.0 / (min(EVSE_MAX_A, plugged.ev_max_a) * policy.voltage_v)
    )
    return plugged.departure_s - now_s - full_s


def session_cap_a(plugged: Plugged, policy: Policy) -> float:
    """The most this vehicle can use this period: EVSE, vehicle, energy still needed."""
    energy_a = plugged.energy_needed_wh * 3600.0 / (policy.period_s * policy.voltage_v)
    return min(EVSE_MAX_A, plugged.ev_max_a, energy_a)


def branch_demand_a(network: AcnNetwork, plugged: Sequence[Plugged], policy: Policy) -> Triple:
    """Per branch, the current its vehicles could use, each pod clipped to its limit."""
    demand = [0.0, 0.0, 0.0]
    pod_of = {sid: pod for pod in network.pods for sid in pod.evse_ids}
    pod_use = {pod.name: 0.0 for pod in network.pods}
    for item in plugged:
        cap = session_cap_a(item, policy)
        pod = pod_of.get(item.station_id)
        if pod is None:
            demand[network.evse_branch[item.station_id]] += cap
        else:
            pod_use[pod.name] += cap
    for pod in network.pods:
        branch = network.evse_branch[pod.evse_ids[0]]
        demand[branch] += min(pod.limit_a, pod_use[pod.name])
    return (demand[0], demand[1], demand[2])


def _static_site(network: AcnNetwork, policy: Policy) -> tuple[tuple[Node, ...], tuple[Evse, ...]]:
    """The pods (children of the transformer) and the EVSEs, each on its branch."""
    nodes = []
    pod_of: dict[str, str] = {}
    for pod in network.pods:
        node_id = pod.name.replace(" ", "_")
        limit = (pod.limit_a, pod.limit_a, pod.limit_a)
        nodes.append(
            Node(
                node_id,
                ROOT,
                (NodeLimit("pod", max_current_a=limit),),
                nominal_voltage_v=policy.voltage_v,
            )
        )
        pod_of.update({sid: node_id for sid in pod.evse_ids})
    evses = tuple(
        Evse(
            sid,
            pod_of.get(sid, ROOT),
            phase_map=(branch,),
            min_current_a=0.0,
            max_current_a=EVSE_MAX_A,
            current_step_a=STEP_A,
        )
        for sid, branch in sorted(network.evse_branch.items())
    )
    return tuple(nodes), evses


def urgency_class(plugged: Plugged, now_s: float, policy: Policy) -> int:
    """Higher is more urgent: least laxity (default) or earliest departure, by whole classes.

    Laxity, not departure, because energy is lost for good only when a vehicle cannot
    catch up later at its own maximum rate; a vehicle leaving soon with little to take
    can wait.
    """
    if policy.order == "horizon":
        return 0
    if policy.order == "edf":
        return -int(plugged.departure_s // policy.class_s)
    return -int(laxity_s(plugged, now_s, policy) // policy.class_s)


def _session(plugged: Plugged, now_s: float, policy: Policy) -> Session:
    """Urgency classes: see ``urgency_class``."""
    return Session(
        evse_id=plugged.station_id,
        arrival_s=plugged.arrival_s,
        phases_in_use=1,
        ev_max_current_a=plugged.ev_max_a,
        priority=urgency_class(plugged, now_s, policy),
        departure_s=plugged.departure_s,
        energy_needed_wh=plugged.energy_needed_wh,
    )
