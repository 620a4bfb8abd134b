"""How a simulated station shares its station-wide cap among the ports that charge.

The station offers each charging port a pilot current; the sum of those offers stays within
the cap, so no phase of the station exceeds it whatever the EVs' phases and wiring. Ports
get equal shares, and a port that may take less than its share leaves the rest to the others
(water-filling). A share under 6 A cannot be offered (IEC 61851-1): the port charging the
shortest time is then paused (offered 0 A) and the others share again.
"""

from __future__ import annotations

from collections.abc import Mapping

MIN_OFFER_A = 6.0


def _water_fill(cap_a: float, wants_a: Mapping[int, float]) -> dict[int, float]:
    shares: dict[int, float] = {}
    left_a = cap_a
    by_want = sorted(wants_a.items(), key=lambda item: item[1])
    for index, (port, want_a) in enumerate(by_want):
        share_a = min(want_a, left_a / (len(by_want) - index))
        shares[port] = share_a
        left_a -= share_a
    return shares


def share_station_cap(
    cap_a: float, wants_a: Mapping[int, float], min_offer_a: float = MIN_OFFER_A
) -> dict[int, float]:
    """Offer per port, given what each charging port may take (`wants_a`, oldest first).

    Ports that may take less than `min_offer_a` anyway get what they may take: the EV will
    not draw on it, and it does not count against the cap.
    """
    sharing = {port: want for port, want in wants_a.items() if want >= min_offer_a}
    offers = {port: want for port, want in wants_a.items() if want < min_offer_a}
    while sharing:
        shares = _water_fill(cap_a, sharing)
        if min(shares.values()) >= min_offer_a:
            return offers | shares
        newest = list(sharing)[-1]
        offers[newest] = 0.0
        del sharing[newest]
    return offers
