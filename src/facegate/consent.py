"""The consent note an enrollment records: required, explicitly absent, or kept from before."""

from __future__ import annotations

from facegate.errors import FacegateError

NO_CONSENT_NOTE = "no consent note (the site keeps consent elsewhere)"


class ConsentRequiredError(FacegateError):
    """A new enrollment came without a consent note and without saying there is none."""

    code = "consent_required"


def consent_note(note: str, no_note: bool, add: bool, names: tuple[str, str]) -> str:
    """Return the consent text to store; names are how the caller spells (note, no-note).

    A new person needs a note, or no_note to record that there is none; adding photos without
    a note stores an empty one, and the person's earlier note stays the one shown.
    """
    text = note.strip()
    if text and no_note:
        raise ConsentRequiredError(f"give {names[0]} or {names[1]}, not both")
    if no_note:
        return NO_CONSENT_NOTE
    if text or add:
        return text
    raise ConsentRequiredError(
        f"a consent note is required: {names[0]} TEXT (who agreed, to what), or {names[1]} "
        "where the site keeps consent elsewhere"
    )
