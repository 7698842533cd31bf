"""Words people write: the one check every free-text field of a change goes through."""
import unicodedata

from .errors import InvalidInput


def checked_text(value, field: str, limit: int, *, what: str = "text",
                 required: bool = False) -> str:
    """`value` as stored: NFC, Windows line ends made plain, outer space trimmed; InvalidInput
    (naming `field`, in words about `what`) when it is not text, missing or too long."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"The {what} must be text.", field)
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if required and not value:
        raise InvalidInput(f"Write the {what}.", field)
    if len(value) > limit:
        raise InvalidInput(f"Keep the {what} under {limit:,} characters.", field)
    return value
