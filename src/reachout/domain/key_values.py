"""How search key values compare: phone numbers and email addresses by a normal form, so that a
search (or an object looking for its profile) finds a value however it was formatted.

A key's kind is the ContentType of the field it is made of (PHONE_NUMBER, EMAIL_ADDRESS), or the
predefined key's own (_phone, _email). Values are indexed in their normal form and searched by it;
the profile and its objects keep the values as they were sent.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import phonenumbers

PHONE_NUMBER, EMAIL_ADDRESS = "PHONE_NUMBER", "EMAIL_ADDRESS"
KINDS = (PHONE_NUMBER, EMAIL_ADDRESS)


def normal_key_value(kind: str | None, value: str) -> str:
    """Email addresses trimmed and in lower case. Phone numbers in E.164 where they read as a valid
    international number ("+1 (206) 555-0100" is +12065550100), else their digits with a leading +
    kept ("(206) 555-0100" is 2065550100): there is no country to read a national number in, so it
    matches only other national writings of it. Values of no kind, and values with nothing to keep,
    as they are."""
    if kind == EMAIL_ADDRESS:
        return value.strip().lower() or value
    if kind == PHONE_NUMBER:
        text = value.strip()
        number = _e164(text)
        if number:
            return number
        digits = "".join(c for c in text if c.isdigit())
        return ("+" if text.startswith("+") else "") + digits if digits else value
    return value


def key_forms(kinds: Iterable[str | None], value: str) -> set[str]:
    """The indexed values a searched value matches, given the kinds its key has in the domain (a custom
    key can have one per object type defining it): the value itself and its normal forms."""
    return {value} | {normal_key_value(kind, value) for kind in kinds}


@lru_cache(maxsize=65536)
def _e164(text: str) -> str | None:
    """Cached: an import reads the same numbers for the profile's fields and for the object's keys."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
