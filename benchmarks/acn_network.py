"""The Caltech ACN three-phase network, read from acnportal's model, in a form localctl can use.

acnportal (BSD-3-Clause, Caltech) is used as a library only: ``acn_sim`` builds the network
with ``caltech_acn`` and this module reduces its constraint matrix, limits and phase angles.

What the network is: single-phase EVSEs connected line to line (A-B, B-C, C-A) on the
secondary of a delta-wye transformer. Each EVSE current is a phasor at its branch's angle
(30, -90, 150 degrees). Every limit is on the magnitude of a sum of phasors:
- transformer rows (secondary and primary line currents) weight every EVSE of a branch
  the same, so they depend only on the three branch totals;
- pod rows (the "CC Pod" and "AV Pod" sub-panels) sum a subset of one branch's EVSEs.
The module checks that shape, so a different network fails loudly rather than silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Complexes = NDArray[np.complex128]
Floats = NDArray[np.float64]

# Nominal angle of each delta branch's current, in acnportal's convention (degrees).
BRANCH_ANGLES_DEG = (30.0, -90.0, 150.0)
BRANCH_NAMES = ("AB", "BC", "CA")


@dataclass(frozen=True, slots=True)
class Pod:
    """A sub-panel: a current limit on the sum of some EVSEs of one branch."""

    name: str
    evse_ids: tuple[str, ...]
    limit_a: float


@dataclass(frozen=True, slots=True)
class AcnNetwork:
    """The network reduced to what the replay needs.

    ``branch_coef[r, k]`` is the complex weight of branch k's total current in transformer
    row r: the row's current is ``abs(branch_coef[r] @ totals)``, limited to ``limit_a[r]``.
    """

    evse_branch: dict[str, int]
    pods: tuple[Pod, ...]
    row_names: tuple[str, ...]
    branch_coef: Complexes
    limit_a: Floats


def reduce_network(
    station_ids: list[str],
    angles_deg: Floats,
    matrix: Floats,
    limits_a: Floats,
    names: list[str],
) -> AcnNetwork:
    """Split constraint rows into pods and per-branch transformer rows (see module doc)."""
    evse_branch = {
        sid: _branch_of(float(a)) for sid, a in zip(station_ids, angles_deg, strict=True)
    }
    branch = np.asarray([evse_branch[sid] for sid in station_ids])
    phasor = np.exp(1j * np.deg2rad(np.asarray(BRANCH_ANGLES_DEG)))
    pods: list[Pod] = []
    row_names: list[str] = []
    coefs: list[Complexes] = []
    limits: list[float] = []
    for row, name in enumerate(names):
        weights = matrix[row]
        if _is_pod(weights, branch):
            members = tuple(sid for sid, w in zip(station_ids, weights, strict=True) if w)
            pods.append(Pod(name, members, float(limits_a[row])))
            continue
        per_branch = np.zeros(3, dtype=np.complex128)
        for k in range(3):
            values = np.unique(weights[branch == k])
            if values.shape[0] != 1:
                raise ValueError(f"row {name}: weights differ within branch {BRANCH_NAMES[k]}")
            per_branch[k] = values[0] * phasor[k]
        row_names.append(name)
        coefs.append(per_branch)
        limits.append(float(limits_a[row]))
    return AcnNetwork(
        evse_branch=evse_branch,
        pods=tuple(pods),
        row_names=tuple(row_names),
        branch_coef=np.vstack(coefs),
        limit_a=np.asarray(limits),
    )


def _branch_of(angle_deg: float) -> int:
    for k, nominal in enumerate(BRANCH_ANGLES_DEG):
        if abs((angle_deg - nominal + 180.0) % 360.0 - 180.0) < 1e-6:
            return k
    raise ValueError(f"EVSE phase angle {angle_deg} is not a delta branch")


def _is_pod(weights: Floats, branch: NDArray[np.int64]) -> bool:
    """Ones on some EVSEs of a single branch, zeros elsewhere, not the whole branch."""
    used = weights != 0
    if not used.any() or not np.all(weights[used] == 1.0):
        return False
    branches = np.unique(branch[used])
    return branches.shape[0] == 1 and bool(used.sum() < (branch == branches[0]).sum())
