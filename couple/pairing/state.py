"""The pairing part of a person's client state (see couple/state.py): who they are linked
with, in which roles, and whether they are linked at all."""


def state_collections(user) -> dict:
    return {
        "couple": _couple_info(user),
        "pairing": {"status": {"linked": user.couple_id is not None, "couple_id": user.couple_id}},
    }


def _couple_info(user) -> dict:
    couple = user.couple
    if couple is None:
        return {}
    partner = couple.partner_of(user)
    return {
        "info": {
            "id": couple.id,
            "active": True,
            "me": {"id": user.id, "name": user.display_name, "role": couple.role_of(user)},
            "partner": (
                {"id": partner.id, "name": partner.display_name, "role": couple.role_of(partner)}
                if partner is not None else None
            ),
        }
    }
