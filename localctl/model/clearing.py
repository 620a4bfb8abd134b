"""ClearChargingProfile both ways, and which profiles a clear request removes.

A clear names a profile id, or any of EVSE, purpose and stack level matched as a logical AND
(1.6 section 5.5; 2.0.1 K10.FR.02-04); an empty clear removes every profile. Profiles of
purpose ChargingStationExternalConstraints are never cleared by a call (K10.FR.04, K10.FR.09)
nor named in one (K10.FR.06).
"""

from __future__ import annotations

from dataclasses import dataclass

from localctl.model.errors import NotExpressibleError, UnreadablePayloadError
from localctl.model.payload import JsonObject, integer_at, object_at
from localctl.model.profiles import ProfilePurpose, ProfileSpec, purpose_from_name, purpose_name
from localctl.relay.versions import OcppVersion


@dataclass(frozen=True, slots=True)
class ClearSpec:
    """What to clear: by `profile_id`, or by the criteria that are not None."""

    profile_id: int | None = None
    evse_id: int | None = None
    purpose: ProfilePurpose | None = None
    stack_level: int | None = None

    def to_payload(self, version: OcppVersion) -> JsonObject:
        return clear_to_payload(self, version)

    @staticmethod
    def from_payload(version: OcppVersion, payload: JsonObject) -> ClearSpec:
        return clear_from_payload(version, payload)

    def removes(self, profile: ProfileSpec) -> bool:
        """Whether a station obeying this clear removes `profile`."""
        if profile.purpose is ProfilePurpose.EXTERNAL_CONSTRAINTS:
            return False
        if self.profile_id is not None:
            return profile.profile_id == self.profile_id
        return (
            self.evse_id in (None, profile.evse_id)
            and self.purpose in (None, profile.purpose)
            and self.stack_level in (None, profile.stack_level)
        )


def clear_to_payload(spec: ClearSpec, version: OcppVersion) -> JsonObject:
    if spec.purpose is ProfilePurpose.EXTERNAL_CONSTRAINTS:
        raise NotExpressibleError("K10.FR.06: never clear ChargingStationExternalConstraints")
    purpose = None if spec.purpose is None else purpose_name(version, spec.purpose)
    if version is OcppVersion.V16:
        return _without_none(
            {
                "id": spec.profile_id,
                "connectorId": spec.evse_id,
                "chargingProfilePurpose": purpose,
                "stackLevel": spec.stack_level,
            }
        )
    criteria = _without_none(
        {"evseId": spec.evse_id, "chargingProfilePurpose": purpose, "stackLevel": spec.stack_level}
    )
    return _without_none(
        {"chargingProfileId": spec.profile_id, "chargingProfileCriteria": criteria or None}
    )


def clear_from_payload(version: OcppVersion, payload: JsonObject) -> ClearSpec:
    """Read a CSMS's ClearChargingProfile request; unreadable fields count as absent."""
    if not isinstance(payload, dict):
        raise UnreadablePayloadError("ClearChargingProfile payload is not an object")
    if version is OcppVersion.V16:
        return ClearSpec(
            integer_at(payload, "id"),
            integer_at(payload, "connectorId"),
            _purpose(version, payload),
            integer_at(payload, "stackLevel"),
        )
    criteria = object_at(payload, "chargingProfileCriteria") or {}
    return ClearSpec(
        integer_at(payload, "chargingProfileId"),
        integer_at(criteria, "evseId"),
        _purpose(version, criteria),
        integer_at(criteria, "stackLevel"),
    )


def _purpose(version: OcppVersion, fields: JsonObject) -> ProfilePurpose | None:
    # An unknown purpose must not widen the clear to every purpose.
    name = fields.get("chargingProfilePurpose")
    purpose = purpose_from_name(version, name)
    if purpose is None and name is not None:
        raise UnreadablePayloadError(f"unknown charging profile purpose {name!r}")
    return purpose


def _without_none(fields: dict[str, object]) -> JsonObject:
    return {key: value for key, value in fields.items() if value is not None}
