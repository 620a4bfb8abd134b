"""The MPC reconstruction reproduces every statistic the notebook publishes exactly."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import acn_mpc


def _all_runs(measured: acn_mpc.Measured | None = None) -> list[float]:
    """The 27 runs: the reconstruction, 80 to 150 kW spread as its sum assumes."""
    shares = [e.share_pct for e in acn_mpc.reconstruct(measured) if e.capacity_kw <= 75]
    q75, top = acn_mpc.Q75_PCT, acn_mpc.MAX_PCT
    low = [acn_mpc.MEDIAN_PCT] * 5 + [q75] * 7 + [top]
    high = [q75] * 7 + [top] * 6
    middle = [(a + b) / 2.0 for a, b in zip(low, high, strict=True)]
    return sorted(shares + middle)


def test_the_runs_give_the_published_mean_quartiles_and_extremes() -> None:
    runs = np.asarray(_all_runs())
    assert runs.shape == (acn_mpc.RUNS,)
    assert runs.mean() == pytest.approx(acn_mpc.MEAN_PCT, abs=1e-9)
    assert runs.min() == pytest.approx(acn_mpc.MIN_PCT, abs=1e-9)
    assert runs.max() == pytest.approx(acn_mpc.MAX_PCT, abs=1e-9)
    assert np.quantile(runs, 0.25) == pytest.approx(acn_mpc.Q25_PCT, abs=1e-9)
    assert np.quantile(runs, 0.5) == pytest.approx(acn_mpc.MEDIAN_PCT, abs=1e-9)
    assert np.quantile(runs, 0.75) == pytest.approx(acn_mpc.Q75_PCT, abs=1e-9)


def test_the_standard_deviation_agrees_though_it_was_not_fitted() -> None:
    published_std_pct = 11.735253
    assert np.std(_all_runs(), ddof=1) == pytest.approx(published_std_pct, abs=0.01)


def test_shares_rise_with_capacity_and_the_figure_reads_high() -> None:
    shares = [e.share_pct for e in acn_mpc.reconstruct() if e.capacity_kw <= 75]
    assert shares == sorted(shares)
    assert -0.6 < acn_mpc.offset_pct() < -0.1


def test_verdicts_respect_exact_values_bounds_and_the_uncertainty() -> None:
    lines = acn_mpc.compare({10.0: 51.5, 35.0: 96.35, 40.0: 98.0, 50.0: 99.9, 55.0: 99.95})
    verdicts = [line.rsplit("|", 1)[1].strip() for line in lines[1:]]
    assert verdicts == [
        "above",
        "within the uncertainty",
        "below",
        "below the bound: undecided",
        "above",
    ]


def test_a_measured_run_replaces_its_bound_and_keeps_the_published_mean() -> None:
    measured = {50: 99.82, 35: 96.25}
    estimates = {e.capacity_kw: e for e in acn_mpc.reconstruct(measured)}
    assert estimates[50].measured and estimates[50].share_pct == 99.82
    assert estimates[35].measured and estimates[35].share_pct == 96.25
    assert np.mean(_all_runs(measured)) == pytest.approx(acn_mpc.MEAN_PCT, abs=1e-9)
    # What 50 kW gives up below the median bound goes to the four figured capacities left.
    before = {e.capacity_kw: e.share_pct for e in acn_mpc.reconstruct()}
    raised = estimates[20].share_pct - before[20]
    assert raised == pytest.approx((acn_mpc.MEDIAN_PCT - 99.82 + before[35] - 96.25) / 4)


def test_a_measured_run_is_judged_within_the_measurement_tolerance() -> None:
    measured = {35: 96.30, 50: 99.82}
    lines = acn_mpc.compare({35.0: 96.302, 50.0: 99.80}, measured)
    verdicts = [line.rsplit("|", 1)[1].strip() for line in lines[1:]]
    assert verdicts == ["within the uncertainty", "below"]


def test_the_measured_mpc_matches_the_exactly_published_runs() -> None:
    """The committed runs of ``benchmarks.acn_adacharge`` (ECOS) against the two runs the
    table states exactly: the tolerance used for measured values is what they show."""
    measured = acn_mpc.load_measured(acn_mpc.MEASURED_PATH)
    assert abs(measured[10] - acn_mpc.MIN_PCT) < acn_mpc.MEASURED_TOLERANCE_PCT
    assert abs(measured[75] - acn_mpc.MEDIAN_PCT) < acn_mpc.MEASURED_TOLERANCE_PCT
    assert {35, 50} <= measured.keys()
