from __future__ import annotations

from typing import Any

from localctl.model.meter import first_energy_wh, last_energy_wh, samples_from


def sample_of(*sampled_values: dict[str, Any]) -> Any:
    meter_value = {"timestamp": "2026-03-01T10:00:00Z", "sampledValue": list(sampled_values)}
    (sample,) = samples_from([meter_value], "cp1", 1, None)
    return sample


def test_a_value_without_measurand_is_the_energy_register_in_wh() -> None:
    assert sample_of({"value": "1234.5"}).energy_wh == 1234.5


def test_kilo_units_and_2_0_1_multipliers() -> None:
    assert (
        sample_of({"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"}).power_w
        == 7400.0
    )
    multiplied = {
        "value": 74,
        "measurand": "Power.Active.Import",
        "unitOfMeasure": {"unit": "W", "multiplier": 2},
    }
    assert sample_of(multiplied).power_w == 7400.0


def test_a_unit_that_does_not_fit_the_measurand_is_skipped() -> None:
    assert (
        samples_from(
            [{"sampledValue": [{"value": "16", "measurand": "Current.Import", "unit": "kW"}]}],
            "cp1",
            1,
            None,
        )
        == []
    )


def test_power_per_phase_sums_when_no_total_is_given() -> None:
    sample = sample_of(
        {"value": "2300", "measurand": "Power.Active.Import", "phase": "L1-N", "unit": "W"},
        {"value": "2300", "measurand": "Power.Active.Import", "phase": "L2-N", "unit": "W"},
    )
    assert sample.power_w == 4600.0


def test_a_total_beats_the_sum_of_phases() -> None:
    sample = sample_of(
        {"value": "2300", "measurand": "Power.Active.Import", "phase": "L1", "unit": "W"},
        {"value": "2350", "measurand": "Power.Active.Import", "unit": "W"},
    )
    assert sample.power_w == 2350.0


def test_outlet_beats_inlet_and_ev_whatever_the_order() -> None:
    sample = sample_of(
        {"value": "31", "measurand": "Current.Import", "phase": "L2", "location": "EV"},
        {"value": "33", "measurand": "Current.Import", "phase": "L2", "location": "Inlet"},
        {"value": "32", "measurand": "Current.Import", "phase": "L2"},
    )
    assert sample.current_a == (None, 32.0, None)


def test_signed_data_neutral_and_line_to_line_values_are_not_used() -> None:
    sample = sample_of(
        {"value": "AbCdEf==", "format": "SignedData"},
        {"value": "4", "measurand": "Current.Import", "phase": "N"},
        {"value": "400", "measurand": "Voltage", "phase": "L1-L2"},
        {"value": "230", "measurand": "Voltage", "phase": "L1-N"},
    )
    assert (sample.energy_wh, sample.current_a, sample.voltage_v) == (None, None, 230.0)


def test_unphased_current_and_offered_current_are_kept_apart() -> None:
    sample = sample_of(
        {"value": "15.5", "measurand": "Current.Import", "unit": "A"},
        {"value": "16", "measurand": "Current.Offered", "unit": "A"},
    )
    assert (sample.current_a, sample.current_unphased_a, sample.current_offered_a) == (
        None,
        15.5,
        16.0,
    )


def test_meter_values_without_usable_readings_give_no_sample() -> None:
    assert samples_from([{"sampledValue": [{"value": "x"}]}, {}], "cp1", 1, None) == []


def test_first_and_last_energy() -> None:
    samples = samples_from(
        [
            {"sampledValue": [{"value": "10"}]},
            {"sampledValue": [{"value": "1", "measurand": "SoC", "unit": "Percent"}]},
            {"sampledValue": [{"value": "20"}]},
        ],
        "cp1",
        1,
        "t",
    )
    assert (first_energy_wh(samples), last_energy_wh(samples)) == (10.0, 20.0)
