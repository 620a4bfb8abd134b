from __future__ import annotations

from pathlib import Path

import pytest

from localctl.config.loader import ConfigError, load_config

HEADER = "relay:\n  upstream_url: ws://csms/ocpp\n"


def load(tmp_path: Path, body: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(HEADER + body)
    load_config(path)


def error_of(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, body)
    return str(caught.value)


TREE = """site:
  nodes:
    - {id: main, kind: grid_connection, fuse_a: [63, 63, 50]}
    - {id: sub, kind: sub_distribution, parent: main, fuse_a: 32}
  evses:
    - {id: e1, node: sub, wiring: [L2, L3, L1]}
    - {id: e2, node: main, phases: 1, wiring: [L3], max_current_a: 16}
"""


def test_a_sound_tree_loads(tmp_path: Path) -> None:
    load(tmp_path, TREE + "stations:\n  - {id: CP-1, evses: {1: e1, 2: e2}}\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "site:\n  nodes:\n    - {id: a, kind: circuit, fuse_a: 16}\n"
            "    - {id: b, kind: circuit, fuse_a: 16}\n",
            "exactly one node needs no parent",
        ),
        (
            "site:\n  nodes:\n    - {id: a, kind: grid_connection, fuse_a: 16}\n"
            "    - {id: b, kind: circuit, parent: c, fuse_a: 16}\n"
            "    - {id: c, kind: circuit, parent: b, fuse_a: 16}\n",
            "cycle",
        ),
        (
            "site:\n  nodes:\n    - {id: a, kind: grid_connection, fuse_a: 16}\n"
            "    - {id: b, kind: circuit, parent: x, fuse_a: 16}\n",
            "parent x does not exist",
        ),
        (
            "site:\n  nodes:\n    - {id: a, kind: grid_connection}\n",
            "needs fuse_a or power_limit_w",
        ),
        (
            "site:\n  nodes:\n    - {id: a, kind: grid_connection, fuse_a: 16}\n"
            "  evses:\n    - {id: e, node: nowhere}\n",
            "node nowhere does not exist",
        ),
        (
            "site:\n  nodes:\n    - {id: a, kind: grid_connection, fuse_a: 16}\n"
            "  evses:\n    - {id: e, node: a, phases: 1, wiring: [L1, L2]}\n",
            "wiring needs 1 distinct grid phases",
        ),
        (
            "site:\n  nodes:\n    - {id: 'a:b', kind: grid_connection, fuse_a: 16}\n",
            "site.nodes.0.id",
        ),
        ("site:\n  nodes:\n    - {id: a, kind: grid_connection, fuse_a: [16, 16]}\n", "fuse_a"),
        (TREE + "stations:\n  - {id: CP-1, evses: {1: e9}}\n", "evse e9 is not in the site"),
        (
            TREE + "stations:\n  - {id: CP-1, evses: {1: e1}}\n  - {id: CP-2, evses: {1: e1}}\n",
            "evse e1 belongs to CP-1 and CP-2",
        ),
        (
            TREE + "control:\n  meter_stale_s: 30\n  meter_lost_s: 20\n",
            "meter_lost_s must be longer",
        ),
    ],
)
def test_an_unsound_site_is_refused_with_a_reason(tmp_path: Path, body: str, message: str) -> None:
    assert message in error_of(tmp_path, body)


def test_errors_carry_the_line(tmp_path: Path) -> None:
    body = TREE.replace("max_current_a: 16", "max_current_a: -16")
    assert "site.evses.1.max_current_a (line 9)" in error_of(tmp_path, body)


METER = (
    "inputs:\n  modbus_meters:\n"
    "    - {id: grid, node_id: %s, host: 127.0.0.1, model: eastron_sdm630}\n"
)


def test_inputs_are_checked_against_the_site(tmp_path: Path) -> None:
    load(tmp_path, TREE + METER % "main")
    assert "meter grid: node nowhere is not in the site" in error_of(
        tmp_path, TREE + METER % "nowhere"
    )


def test_mqtt_inputs_need_the_mqtt_section(tmp_path: Path) -> None:
    ems = "inputs:\n  ems_mqtt: {node_ids: [main]}\n"
    assert "need the mqtt section" in error_of(tmp_path, TREE + ems)
    load(tmp_path, TREE + ems + "mqtt: {host: 127.0.0.1}\n")


def test_an_unknown_profile_strategy_is_named(tmp_path: Path) -> None:
    body = TREE + "stations:\n  - {id: CP-1, evses: {1: e1}, profile: magic}\n"
    assert "unknown profile strategy 'magic'; known: default" in error_of(tmp_path, body)
