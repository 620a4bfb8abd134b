"""Fuzz invariant: whatever a peer sends, the core raises nothing, every frame it writes is a
valid OCPP-J frame, and the session keeps relaying afterwards."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from localctl.relay.events import Side
from localctl.relay.frames import parse_frame
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.session import RelaySession
from localctl.relay.versions import OcppVersion

SCHEMAS = SchemaRegistry()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
frame_like = st.builds(
    lambda kind, message_id, rest: json.dumps([kind, message_id, *rest]),
    st.sampled_from([2, 3, 4, 5, 6, 7, "2"]),
    st.text(max_size=40) | st.integers(),
    st.lists(json_values | st.sampled_from(["Heartbeat", "BootNotification"]), max_size=4),
)
garbage = st.text(max_size=200) | st.binary(max_size=100) | frame_like


@settings(max_examples=400, deadline=None)
@given(
    inputs=st.lists(st.tuples(st.sampled_from(list(Side)), garbage), max_size=6),
    version=st.sampled_from(list(OcppVersion)),
    strict=st.booleans(),
)
def test_arbitrary_input_never_breaks_the_session(
    inputs: list[tuple[Side, str | bytes]], version: OcppVersion, strict: bool
) -> None:
    from localctl.relay.session import SessionOptions

    session = RelaySession("CP", version, SCHEMAS, options=SessionOptions(strict=strict))
    for now_s, (side, text) in enumerate(inputs):
        session.receive(side, text, float(now_s))
        session.tick(float(now_s))
    for outgoing in session.data_to_send():
        parse_frame(outgoing.text, version)  # everything we write is a well-formed frame
    session.events()
    session.tick(10_000.0)  # let anything in flight time out, then the links must be free
    session.data_to_send()
    session.receive(Side.STATION, '[2,"probe-1","Heartbeat",{}]', 10_001.0)
    assert [o.text for o in session.data_to_send()] == ['[2,"probe-1","Heartbeat",{}]']
