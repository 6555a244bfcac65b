"""Ingestion of profile objects: what an object type's mapping says an object means.

Pure rules, no I/O. `compile_object_type` checks a PutProfileObjectType definition and compiles it;
`read_object` reads one object (JSON text) through it: the values of its fields, the changes they
make to the standard profile, its key values and its unique key. `find_profile` and `keys_to_store`
decide, from what the store finds by those keys, which profile the object belongs to and which keys
that profile keeps. The store applies the outcome (`reachout.store.profile_objects.ingest`).

A mapping, as the Customer Profiles API gives it:
  Fields: {name: {"Source": "_source.a.b", "Target": "_profile.FirstName", "ContentType": "STRING"}}
  Keys:   {name: [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["a", "b"]}]}
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from reachout.domain.errors import DomainError
from reachout.domain.key_values import KINDS, normal_key_value
from reachout.domain.profile import (ADDRESS_FIELDS, ADDRESS_PARTS, GIVEN_SUFFIX, KEY_FIELDS, PREDEFINED_KEYS,
                                     PREDEFINED_KINDS, TEXT_FIELDS, as_number)
from reachout.json_text import read_json

MAX_OBJECT_LENGTH = 256_000  # the model's limit on PutProfileObject's Object
MAX_KEY_VALUE_LENGTH = 255  # a search key value, as SearchProfiles and AddProfileKey take it
PROFILE_ID_KEY = "_profileId"  # finds a profile by its id; never stored as a key

PROFILE, UNIQUE, SECONDARY, LOOKUP_ONLY, NEW_ONLY = "PROFILE", "UNIQUE", "SECONDARY", "LOOKUP_ONLY", "NEW_ONLY"

# Limits and allowed values of the standard profile fields a mapping can fill (the Profile shape).
FIELD_MAX_LENGTH = {**{name: 255 for name in TEXT_FIELDS}, "AdditionalInformation": 1000}
FIELD_ENUMS = {"Gender": ("MALE", "FEMALE", "UNSPECIFIED"), "PartyType": ("INDIVIDUAL", "BUSINESS", "OTHER"),
               "ProfileType": ("ACCOUNT_PROFILE", "PROFILE")}

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class Field:
    name: str
    # Either a path into the object (("address", "zip") for "_source.address.zip"), or a template
    # ("{{_source.first}} {{_source.last}}"): constant text and paths, split apart.
    path: tuple[str, ...] | None
    template: tuple[str | tuple[str, ...], ...] | None
    target: tuple[str, ...] | None  # ("FirstName",), ("Address", "PostalCode"), ("Attributes", "tier")
    content_type: str


@dataclass(frozen=True)
class Key:
    """One entry of a Keys map: a key name, its identifiers and the fields whose values make it up."""
    name: str
    identifiers: frozenset[str]
    field_names: tuple[str, ...]
    kind: str | None = None  # PHONE_NUMBER / EMAIL_ADDRESS: its values are compared in their normal form
    # A predefined key (_phone, _email, _account) made of a field that fills one of the standard fields
    # it follows: the profile answers to it through that field, as long as the field keeps the value.
    follows_profile: bool = False

    @property
    def lookup_pass(self) -> int | None:
        """When this key is used to find the object's profile: 1 (PROFILE keys), 2 (SECONDARY,
        LOOKUP_ONLY and NEW_ONLY keys, once PROFILE keys found nothing) or never (None)."""
        if PROFILE in self.identifiers and SECONDARY not in self.identifiers:
            return 1
        if self.identifiers & {PROFILE, SECONDARY, LOOKUP_ONLY, NEW_ONLY}:
            return 2
        return None


@dataclass(frozen=True)
class ObjectType:
    name: str
    allow_profile_creation: bool
    fields: tuple[Field, ...]
    keys: tuple[Key, ...]


@dataclass(frozen=True)
class Reading:
    """What one object says, read through its object type."""
    values: dict[str, str]  # field name -> the value found in the object
    profile_changes: dict  # UpdateProfile-style changes for the standard profile
    key_values: tuple[tuple[Key, str], ...]  # every key the object has a full value for
    unique_key: str | None  # the value of the UNIQUE key, when the object type has one


# --- definitions ----------------------------------------------------------------------------------
def compile_object_type(name: str, definition: dict) -> ObjectType:
    """The compiled mapping of a PutProfileObjectType definition; DomainError says what is wrong."""
    if definition.get("TemplateId"):
        raise DomainError("Object type templates (TemplateId) are not supported: define Fields and Keys instead")
    fields = tuple(_field(name, field_name, spec) for field_name, spec in definition.get("Fields", {}).items())
    by_name = {field.name: field for field in fields}
    keys = []
    for key_name, entries in definition.get("Keys", {}).items():
        for entry in entries:
            field_names = tuple(entry.get("FieldNames", []))
            if not field_names:
                raise DomainError(f"Key {key_name} has no FieldNames")
            missing = [f for f in field_names if f not in by_name]
            if missing:
                raise DomainError(f"Key {key_name} uses FieldNames {', '.join(missing)} that are not in Fields")
            key = Key(key_name, frozenset(entry.get("StandardIdentifiers", [])), field_names,
                      *_kind_of(key_name, [by_name[f] for f in field_names]))
            if {UNIQUE, LOOKUP_ONLY} <= key.identifiers:
                raise DomainError(f"Key {key_name} cannot be both UNIQUE and LOOKUP_ONLY")
            keys.append(key)
    unique = [key.name for key in keys if UNIQUE in key.identifiers]
    if len(unique) > 1:
        raise DomainError(f"An object type can have only one UNIQUE key, not {len(unique)} ({', '.join(unique)})")
    return ObjectType(name, bool(definition.get("AllowProfileCreation", False)), fields, tuple(keys))


def _kind_of(key_name: str, fields: list[Field]) -> tuple[str | None, bool]:
    """The key's kind of value, and whether it follows the profile (see Key). A key over several fields
    joins their values with "_": it is compared as it is."""
    if len(fields) != 1:
        return PREDEFINED_KINDS.get(key_name), False
    field, = fields
    kind = PREDEFINED_KINDS.get(key_name) or (field.content_type if field.content_type in KINDS else None)
    target = field.target
    follows = target is not None and len(target) == 1 and target[0] in KEY_FIELDS.get(key_name, ())
    return kind, follows


def _field(type_name: str, field_name: str, spec: dict) -> Field:
    source = spec.get("Source", "")
    if "{{" in source:
        template = tuple(part if index % 2 == 0 else _source_path(field_name, part)
                         for index, part in enumerate(_PLACEHOLDER.split(source)) if index % 2 or part)
        path = None
    else:
        template, path = None, _source_path(field_name, source)
    target = spec.get("Target")
    return Field(field_name, path, template, _target(type_name, field_name, target) if target else None,
                 spec.get("ContentType", "STRING"))


def _source_path(field_name: str, source: str) -> tuple[str, ...]:
    parts = source.split(".")
    if parts[0] != "_source" or len(parts) < 2 or not all(parts[1:]):
        raise DomainError(f"Field {field_name}: Source {source!r} must be a path into the object, like "
                          "_source.Address.PostalCode (or a template of such paths in {{ }})")
    return tuple(parts[1:])


def _target(type_name: str, field_name: str, target: str) -> tuple[str, ...]:
    """Where a field's value goes on the standard profile; () for a field of the object itself."""
    head, _, rest = target.partition(".")
    if head == type_name and rest:
        return ()
    if head == "_profile":
        name, _, part = rest.partition(".")
        if name in TEXT_FIELDS and not part:
            return (name,)
        if name in ADDRESS_FIELDS and part in ADDRESS_PARTS:
            return (name, part)
        if name == "Attributes" and 0 < len(part) <= 255:
            return (name, part)
    raise DomainError(
        f"Field {field_name}: Target {target!r} is not one of _profile.<standard field> (e.g. _profile.FirstName), "
        f"_profile.<Address|ShippingAddress|MailingAddress|BillingAddress>.<part> (e.g. _profile.Address.PostalCode), "
        f"_profile.Attributes.<name> or {type_name}.<name>")


# --- reading an object ----------------------------------------------------------------------------
def read_object(object_type: ObjectType, text: str) -> Reading:
    """Reads one object; DomainError, with a reason, when the object cannot be ingested."""
    if len(text) > MAX_OBJECT_LENGTH:
        raise DomainError(f"The object is {len(text)} characters long; the limit is {MAX_OBJECT_LENGTH}")
    try:
        document = read_json(text)
    except ValueError as error:
        raise DomainError(f"The object is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise DomainError("The object must be a JSON object")
    values = {}
    for field in object_type.fields:
        value = _value_of(field, document)
        if value is not None:
            values[field.name] = value
    key_values = []
    unique_key = None
    for key in object_type.keys:
        parts = [values[name] for name in key.field_names if name in values]
        if len(parts) < len(key.field_names):
            if UNIQUE in key.identifiers:
                raise DomainError(f"The object has no value for its UNIQUE key {key.name} "
                                  f"(fields {', '.join(key.field_names)})")
            continue
        value = "_".join(parts)
        if len(value) > MAX_KEY_VALUE_LENGTH:
            raise DomainError(f"The value of key {key.name} is longer than {MAX_KEY_VALUE_LENGTH} characters")
        key_values.append((key, normal_key_value(key.kind, value)))
        if UNIQUE in key.identifiers:
            unique_key = value  # the object's own identifier, as sent
    return Reading(values, _profile_changes(object_type, values), tuple(key_values), unique_key)


def key_values_of(object_type: ObjectType, text: str) -> dict[str, set[str]]:
    """The key values (in their normal form) an object stored earlier answers to (none if it no longer
    reads)."""
    try:
        reading = read_object(object_type, text)
    except DomainError:
        return {}
    found: dict[str, set[str]] = {}
    for key, value in reading.key_values:
        found.setdefault(key.name, set()).add(value)
    return found


def _value_of(field: Field, document: dict) -> str | None:
    """The field's value as text; None when the object lacks it (the field is then skipped)."""
    if field.path is not None:
        value = _scalar(field, _at(document, field.path))
    else:
        texts = []
        for part in field.template or ():
            text = part if isinstance(part, str) else _scalar(field, _at(document, part))
            if text is None:
                return None
            texts.append(text)
        value = "".join(texts)
    if value is None or value == "":
        # Empty means absent: an empty cell in an import must not clear what the profile knows.
        return None
    if field.content_type == "NUMBER" and as_number(value) is None:
        raise DomainError(f"Field {field.name} has ContentType NUMBER but its value {value[:50]!r} is not a number")
    return value


def _at(document, path: tuple[str, ...]):
    value = document
    for step in path:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def _scalar(field: Field, value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    raise DomainError(f"Field {field.name} must be a string, number or boolean, not a JSON "
                      f"{'object' if isinstance(value, dict) else 'array'}")


def _profile_changes(object_type: ObjectType, values: dict[str, str]) -> dict:
    changes: dict = {}
    for field in object_type.fields:
        if not field.target or field.name not in values:
            continue
        value = values[field.name]
        name = field.target[0]
        limit = FIELD_MAX_LENGTH.get(name, 255)
        if len(value) > limit:
            raise DomainError(f"Field {field.name}: the value for _profile.{'.'.join(field.target)} is longer "
                              f"than {limit} characters")
        if name in FIELD_ENUMS and value not in FIELD_ENUMS[name]:
            raise DomainError(f"Field {field.name}: {value[:50]!r} is not a {name} "
                              f"({', '.join(FIELD_ENUMS[name])})")
        if len(field.target) == 1:
            changes[name] = value
        else:
            changes.setdefault(name, {})[field.target[1]] = value
    return changes


# --- which profile, which keys --------------------------------------------------------------------
def find_profile(object_type: ObjectType, reading: Reading,
                 profiles_with: Callable[[str, str], list[str]]) -> str | None:
    """The profile the object belongs to: the one found by its PROFILE keys, else by its SECONDARY
    (and LOOKUP_ONLY / NEW_ONLY) keys; None if none. `profiles_with(key name, value)` answers the
    profile ids having that key.

    An object that keys of one pass lead to several profiles (one key held by two profiles, or two keys
    held by different profiles) is refused, naming them: attaching it to one would hide it from the
    others, and its keys, kept on that one, would then lead to two profiles for good. The profiles'
    owner decides (merges them, or removes the key from the wrong one)."""
    for lookup_pass in (1, 2):
        matched: dict[str, list[str]] = {}  # profile id -> the key values leading to it
        for key, value in reading.key_values:
            if key.lookup_pass != lookup_pass:
                continue
            found = profiles_with(key.name, value)
            if len(found) > 1:
                raise DomainError(f"Key {key.name}={value} matches more than one profile, so the {object_type.name} "
                                  "object cannot be assigned to one")
            for profile_id in found:
                matched.setdefault(profile_id, []).append(f"{key.name}={value}")
        if len(matched) > 1:
            leads = "; ".join(f"{', '.join(keys)} to profile {profile_id}" for profile_id, keys in matched.items())
            raise DomainError(f"The {object_type.name} object's keys lead to more than one profile ({leads}), "
                              "so it cannot be assigned to one")
        if matched:
            return next(iter(matched))
    return None


def no_profile_found(object_type: ObjectType, reading: Reading) -> DomainError:
    lookup = sorted({key.name for key, _ in reading.key_values if key.lookup_pass})
    by = f"by its keys ({', '.join(lookup)})" if lookup else "(it has no value for any key that finds a profile)"
    return DomainError(f"No profile matches the {object_type.name} object {by}, and object type "
                       f"{object_type.name} does not allow profile creation (AllowProfileCreation is false)")


def keys_to_store(reading: Reading, created_profile: bool) -> set[tuple[str, str]]:
    """The (key name, value) search keys the object leaves on its profile: not LOOKUP_ONLY keys, NEW_ONLY
    keys only on a profile this object created, not _profileId. A predefined key (_phone, ...) that
    follows the profile is held through the profile's field; any other is the object's own, held
    under its name + GIVEN_SUFFIX, so that the profile keeps answering to it (a contact's phone kept
    on the contact object alone finds that profile for the next contact)."""
    return {(key.name + GIVEN_SUFFIX if key.name in PREDEFINED_KEYS else key.name, value)
            for key, value in reading.key_values
            if LOOKUP_ONLY not in key.identifiers
            and (created_profile or NEW_ONLY not in key.identifiers)
            and not key.follows_profile and key.name != PROFILE_ID_KEY}


def key_kinds(object_types: list[ObjectType]) -> dict[str, set[str]]:
    """Key name -> the kinds of value (PHONE_NUMBER, EMAIL_ADDRESS) the object types give it."""
    kinds: dict[str, set[str]] = {name: {kind} for name, kind in PREDEFINED_KINDS.items()}
    for object_type in object_types:
        for key in object_type.keys:
            if key.kind:
                kinds.setdefault(key.name, set()).add(key.kind)
    return kinds


# --- deleting an object type ----------------------------------------------------------------------
def scrub(profile: dict, given: list[Reading], kept: list[Reading]) -> tuple[dict, set[tuple[str, str]]]:
    """What DeleteProfileObjectType takes from one profile, as UpdateProfile-style changes (empty values
    clear) and the (key name, value) search keys to remove. `given` are the readings of the profile's
    objects of the deleted type, `kept` of its objects of other types.

    A profile field was populated by the type when its value is one that an object of the type gave
    it: it is cleared, unless an object of another type gives the same value (then that type populated
    it too) - a value set since by UpdateProfile or by another type is not the type's and stays. Keys
    the type's objects left on the profile go unless another type's objects leave them too; the keys
    that follow the profile's fields (_phone, ...) go with the fields."""
    def values(readings: list[Reading]) -> dict[tuple[str, ...], set[str]]:
        found: dict[tuple[str, ...], set[str]] = {}
        for reading in readings:
            for name, value in reading.profile_changes.items():
                for part, text in (value.items() if isinstance(value, dict) else [(None, value)]):
                    found.setdefault((name,) if part is None else (name, part), set()).add(text)
        return found

    kept_values = values(kept)
    changes: dict = {}
    for path, texts in values(given).items():
        current = profile.get(path[0]) if len(path) == 1 else profile.get(path[0], {}).get(path[1])
        if current in texts and current not in kept_values.get(path, ()):
            if len(path) == 1:
                changes[path[0]] = ""
            else:
                changes.setdefault(path[0], {})[path[1]] = ""
    kept_keys = {pair for reading in kept for pair in keys_to_store(reading, created_profile=True)}
    keys = {pair for reading in given for pair in keys_to_store(reading, created_profile=True)} - kept_keys
    return changes, keys
