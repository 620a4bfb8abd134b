"""Keep the CSMS's charging profiles off the stack levels the controller reserves.

Within a purpose the highest valid stack level wins, and in 1.6 a profile with the same
purpose and stack level on a connector replaces the one there (1.6 5.16.1). A CSMS profile at
the controller's levels would therefore shadow its floor, or replace its lease. Such a profile
is installed one level below the reserved ones instead, with everything else as the CSMS wrote
it; the CSMS gets the station's own answer. Its limit still counts: the controller caps the
session at what the CSMS's profiles allow.
"""

from __future__ import annotations

import copy

from localctl.control.strategy import ProfileStrategy
from localctl.model.errors import UnreadablePayloadError
from localctl.model.profiles import ProfilePurpose, ProfileSpec
from localctl.relay.events import Side
from localctl.relay.frames import Call, JsonObject
from localctl.relay.policy import Policy, Rewriter, Route
from localctl.relay.versions import OcppVersion


def controller_policy(strategy: ProfileStrategy, version: OcppVersion) -> Policy:
    """The relay policy of a station the controller manages."""
    rewriters = {(Side.CSMS, "SetChargingProfile"): reserved_stack_rewriter(strategy, version)}
    return Policy(from_csms={"SetChargingProfile": Route.REWRITE}, rewriters=rewriters)


def reserved_stack_rewriter(strategy: ProfileStrategy, version: OcppVersion) -> Rewriter:
    profile_key = "csChargingProfiles" if version is OcppVersion.V16 else "chargingProfile"

    def rewrite(call: Call) -> JsonObject | None:
        try:
            spec = ProfileSpec.from_payload(version, call.payload)
        except UnreadablePayloadError:
            return None  # the station will answer it as it sees fit
        if spec.purpose is ProfilePurpose.STATION_MAX:
            ceiling = strategy.floor_stack_level
        else:
            ceiling = strategy.evse_stack_level
        if spec.stack_level < ceiling:
            return None
        payload = copy.deepcopy(call.payload)
        payload[profile_key]["stackLevel"] = max(ceiling - 1, 0)
        return payload

    return rewrite
