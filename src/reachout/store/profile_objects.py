"""Profile objects <-> rows, and ingestion: the one path by which an object reaches a profile, used by
PutProfileObject (one object) and by the bulk importer (chunks of thousands) alike. Also the profile
search behind SearchProfiles.

Ingestion is set-based: `ingest_many` reads what a whole chunk of objects needs in a few queries
(who holds each key value the objects look profiles up by, which profile owns each unique key, the
profiles those can find), then ingests the objects one after another in memory, each seeing what the
ones before it did, and writes the outcome in a few bulk statements. The decisions are the rules of
`reachout.domain.ingestion`, taken in the same order as for a lone object, so a chunk ends exactly as
if its objects had been put one by one.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, intersect, or_, select, union, union_all, update

from reachout.domain import ingestion
from reachout.domain.errors import DomainError, NotFound
from reachout.domain.key_values import key_forms
from reachout.domain.profile import PREDEFINED_KEYS, apply_update, key_names, new_profile, search_keys
from reachout.store import profiles as profile_store
from reachout.store.bulk import slices
from reachout.store.db import Database
from reachout.store.profile_domains import Domain
from reachout.store.tables import object_types, profile_domains, profile_keys, profile_objects, profiles


@dataclass(frozen=True)
class IngestResult:
    profile_id: str
    unique_key: str
    created_profile: bool


# The statements ingestion runs for every chunk, built once.
_OBJECT_TYPE = select(object_types.c.definition).where(object_types.c.domain_id == bindparam("domain_id"),
                                                       object_types.c.name == bindparam("name"))
_OBJECT_TYPE_LOCKING_DOMAIN = (_OBJECT_TYPE.join_from(object_types, profile_domains,
                                                      profile_domains.c.id == object_types.c.domain_id)
                               .with_for_update(of=profile_domains))
# (Bound names differ from the columns it sets: SQLAlchemy reserves those for the SET clause.)
_REPLACE_OBJECT = update(profile_objects).where(profile_objects.c.domain_id == bindparam("b_domain_id"),
                                                profile_objects.c.object_type == bindparam("b_object_type"),
                                                profile_objects.c.unique_key == bindparam("b_unique_key"))
_OR_TERMS = 100  # (key, value, profile) probes per statement: SQLite nests OR terms, up to depth 1000


def load_object_type(conn: Connection, domain: Domain, name: str, *, for_ingestion: bool = False
                     ) -> ingestion.ObjectType:
    """The compiled object type. For ingestion, the domain's row is locked with it (in the same statement):
    ingestion within a domain is then serialised on PostgreSQL, as SQLite's BEGIN IMMEDIATE serialises
    every writer, so two objects bearing the same new key cannot both create a profile, nor both insert
    the same unique key; and what a chunk reads up front stays true until it commits."""
    query = _OBJECT_TYPE_LOCKING_DOMAIN if for_ingestion else _OBJECT_TYPE
    definition = conn.execute(query, {"domain_id": domain.id, "name": name}).scalar()
    if definition is None:
        raise NotFound(f"Object type {name} not found in domain {domain.name}")
    return ingestion.compile_object_type(name, definition)


BULK_PAGE_CACHE_KIB = 256 * 1024


def prepare_bulk_ingestion(conn: Connection) -> None:
    """Connection settings for ingesting chunk after chunk. SQLite: a page cache big enough for the
    index pages a chunk touches all over (the keys of new profiles, emails and phone numbers, fall
    anywhere in their index); the default 2 MB holds a sliver of them, and every page dropped is read
    again for the next chunk."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_PAGE_CACHE_KIB}")


def refresh_statistics(conn: Connection) -> None:
    """PostgreSQL plans a chunk's lookups (thousands of values each) from the tables' statistics. A
    table filling faster than autovacuum re-analyses it looks nearly empty to the planner, which then
    filters the rows of the whole domain instead of probing the index for each value; a bulk import
    refreshes them as the tables grow. (SQLite plans without statistics.)"""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE profiles, profile_attributes, profile_keys, profile_objects")


def statistics_due(before: int, after: int, first: int) -> bool:
    """Whether an ingestion that went from `before` to `after` objects crossed a doubling (`first`,
    twice that, four times, ...): refreshing the statistics then costs a few ANALYZEs however long it
    runs, while the planner's view of the tables is never less than half their size."""
    if after < first:
        return False
    return before < first or (after // first).bit_length() > (before // first).bit_length()


class StatisticsFollower:
    """Counts the objects an ingestion (the importer, `reachout ingest`, PutProfileObject calls) has
    written, and refreshes PostgreSQL's statistics after the transaction that made them `first`, then
    twice that, four times, ...: without autovacuum, or faster than it, they would never catch up."""

    def __init__(self, first: int):
        self.first = first
        self._count = 0
        self._lock = threading.Lock()  # (PutProfileObject calls count from many threads)

    def ingested(self, db: Database, count: int) -> None:
        """After the commit of `count` more objects."""
        if db.is_sqlite or not count:
            return
        with self._lock:
            before, self._count = self._count, self._count + count
        if statistics_due(before, before + count, self.first):
            with db.transaction() as conn:
                refresh_statistics(conn)


def ingest(conn: Connection, domain: Domain, object_type_name: str, object_text: str, now: datetime) -> IngestResult:
    """Ingests one object (JSON text) of the named object type; DomainError with the reason when the
    object cannot be ingested (nothing is written then)."""
    result, = ingest_many(conn, domain, object_type_name, [object_text], now)
    if isinstance(result, DomainError):
        raise result
    return result


def ingest_many(conn: Connection, domain: Domain, object_type_name: str, object_texts: list[str],
                now: datetime) -> list[IngestResult | DomainError]:
    """Ingests objects (JSON texts) of the named object type as if one after another: for each, what
    `ingest` would have answered at that point, or the DomainError refusing it (a refused object writes
    nothing and is invisible to the others). NotFound for an unknown object type."""
    object_type = load_object_type(conn, domain, object_type_name, for_ingestion=True)
    readings: list[ingestion.Reading | DomainError] = []
    for text in object_texts:
        try:
            readings.append(ingestion.read_object(object_type, text))
        except DomainError as error:
            readings.append(error)
    chunk = _Chunk(conn, domain.id, object_type, [r for r in readings if not isinstance(r, DomainError)], now)
    results: list[IngestResult | DomainError] = []
    for reading, text in zip(readings, object_texts):
        if isinstance(reading, DomainError):
            results.append(reading)
            continue
        try:
            results.append(chunk.ingest(reading, text))
        except DomainError as error:
            results.append(error)
    chunk.write()
    return results


class _Chunk:
    """The database as a chunk of objects sees it, read up front and kept current in memory while the
    objects are ingested in turn; `write` then stores the outcome.

    What the rules consult is read whole: every holder of every key value the objects look profiles up
    by (so ambiguity and NEW_ONLY / SECONDARY decisions see exactly what the database would answer), the
    owner of every unique key they bear, and the profiles those can lead to. In memory, a profile the
    chunk creates or rewrites holds its keys at once, so a later object of the chunk finds it."""

    def __init__(self, conn: Connection, domain_id: int, object_type: ingestion.ObjectType,
                 readings: list[ingestion.Reading], now: datetime):
        self.conn, self.domain_id, self.object_type, self.now = conn, domain_id, object_type, now
        lookups = {(key.name, value) for reading in readings for key, value in reading.key_values if key.lookup_pass}
        by_id = {value for name, value in lookups if name == ingestion.PROFILE_ID_KEY}
        # (key name, value) -> every profile holding it now; for each key value the objects look up by
        # (a predefined key's under both its names).
        self.holders: dict[tuple[str, str], list[str]] = _holders(
            conn, domain_id, {(stored, value) for name, value in lookups if name != ingestion.PROFILE_ID_KEY
                              for stored in key_names(name)})
        # Whether objects look profiles up by predefined keys (_email, ...), which follow profile fields.
        self.predefined_lookups = any(name in PREDEFINED_KEYS for name, _ in lookups)
        # Unique key -> the profile its stored object belongs to.
        self.owners = _owners(conn, domain_id, object_type.name,
                              {reading.unique_key for reading in readings if reading.unique_key is not None})
        self.stored_before = set(self.owners)  # unique keys whose object is replaced rather than inserted
        # The profiles an object can be assigned to: the one holder of a key value, a unique key's owner,
        # an id looked up; any other (a key held twice that the chunk frees) is loaded when reached.
        reachable = {found[0] for found in self.holders.values() if len(found) == 1}
        self.profiles: dict[str, dict] = {}
        for ids in slices(reachable | set(self.owners.values()) | by_id):
            self.profiles.update(profile_store.get_profiles(conn, domain_id, ids))
        self.holders.update({(ingestion.PROFILE_ID_KEY, value): [value] if value in self.profiles else []
                             for value in by_id})
        self.created: dict[str, None] = {}  # profiles the chunk creates, in order
        self.changed: dict[str, None] = {}  # profiles that existed and that the chunk rewrites
        self.new_keys: set[tuple[str, str, str]] = set()  # (profile, key name, value) to insert
        # Keys for profiles that existed, of values nobody looks up: whether they are held already is
        # asked once, when the chunk is written.
        self.unsure_keys: set[tuple[str, str, str]] = set()
        self.objects: dict[str, dict] = {}  # unique key -> the object row stored under it

    def ingest(self, reading: ingestion.Reading, text: str) -> IngestResult:
        """One object, as `reachout.domain.ingestion` decides it; DomainError changes nothing."""
        earlier = self.owners.get(reading.unique_key) if reading.unique_key is not None else None
        profile_id = ingestion.find_profile(self.object_type, reading, self._holding)
        # An object re-ingested under the same unique key stays with its profile unless its keys say otherwise.
        profile_id = profile_id or earlier
        created = profile_id is None
        if created:
            if not self.object_type.allow_profile_creation:
                raise ingestion.no_profile_found(self.object_type, reading)
            profile_id = profile_store.new_id(self.now)
            self.created[profile_id] = None
            self._rewrite(profile_id, None, new_profile(profile_id, reading.profile_changes))
        elif reading.profile_changes:
            profile = self._profile(profile_id)
            updated = apply_update(profile, reading.profile_changes)
            if updated != profile:
                if profile_id not in self.created:
                    self.changed[profile_id] = None
                self._rewrite(profile_id, profile, updated)
        self._add_keys(profile_id, ingestion.keys_to_store(reading, created_profile=created))
        unique_key = reading.unique_key or profile_store.new_id(self.now)
        # Same unique key: the new object replaces the old one wholesale.
        self.objects[unique_key] = {"profile_id": profile_id, "object": text, "created_at": self.now}
        if reading.unique_key is not None:
            self.owners[unique_key] = profile_id
        return IngestResult(profile_id, unique_key, created)

    def _holding(self, key_name: str, value: str) -> list[str]:
        if key_name == ingestion.PROFILE_ID_KEY:
            return self.holders[(key_name, value)]
        return list(dict.fromkeys(p for name in key_names(key_name) for p in self.holders[(name, value)]))

    def _profile(self, profile_id: str) -> dict:
        if profile_id not in self.profiles:
            self.profiles[profile_id] = profile_store.get_profile(self.conn, self.domain_id, profile_id)
        return self.profiles[profile_id]

    def _rewrite(self, profile_id: str, before: dict | None, after: dict) -> None:
        """The profile becomes `after`; its predefined keys (_email, ...) follow its fields, as
        save_profile keeps them in the database."""
        self.profiles[profile_id] = after
        if before is None:
            self._hold(profile_id, (ingestion.PROFILE_ID_KEY, profile_id))
        if not self.predefined_lookups:
            return
        held, holding = search_keys(before) if before else set(), search_keys(after)
        for pair in held - holding:
            found = self.holders.get(pair)
            if found and profile_id in found:
                found.remove(profile_id)
        for pair in holding - held:
            self._hold(profile_id, pair)

    def _hold(self, profile_id: str, pair: tuple[str, str]) -> bool:
        """Records that the profile holds a key value someone looks up; False if it held it already."""
        found = self.holders.get(pair)
        if found is None or profile_id in found:
            return False
        found.append(profile_id)
        return True

    def _add_keys(self, profile_id: str, keys: set[tuple[str, str]]) -> None:
        """Adds the (key name, value) keys the profile lacks."""
        for pair in keys:
            key = (profile_id, *pair)
            if pair in self.holders:
                if self._hold(profile_id, pair):
                    self.new_keys.add(key)
            elif profile_id in self.created:
                self.new_keys.add(key)
            else:
                self.unsure_keys.add(key)

    def write(self) -> None:
        conn, domain_id = self.conn, self.domain_id
        profile_store.save_profiles(conn, domain_id, [self.profiles[p] for p in self.created],
                                    [self.profiles[p] for p in self.changed], self.now)
        keys = self.new_keys | (self.unsure_keys - _held(conn, domain_id, self.unsure_keys))
        profile_store.insert_many(conn, profile_keys, [
            {"domain_id": domain_id, "key_name": name, "value": value, "profile_id": profile_id}
            for profile_id, name, value in sorted(keys, key=_by_key_value)])
        object_type = self.object_type.name
        profile_store.insert_many(conn, profile_objects, [
            {"domain_id": domain_id, "object_type": object_type, "unique_key": unique_key, **row}
            for unique_key, row in self.objects.items() if unique_key not in self.stored_before])
        replaced = [{"b_domain_id": domain_id, "b_object_type": object_type, "b_unique_key": unique_key, **row}
                    for unique_key, row in self.objects.items() if unique_key in self.stored_before]
        if replaced:
            conn.execute(_REPLACE_OBJECT, replaced)


def _by_key_value(key: tuple[str, str, str]) -> tuple[str, str]:
    return key[1], key[2]  # profile_keys' primary key order: inserts then walk its index forwards


def _holders(conn: Connection, domain_id: int, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """Every profile holding each (key name, value): one IN list per key name, on the primary key."""
    holders: dict[tuple[str, str], list[str]] = {pair: [] for pair in pairs}
    by_name: dict[str, list[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, []).append(value)
    lists = [(name, values) for name, all_values in by_name.items() for values in slices(all_values)]
    for some in slices(lists, 10):
        parameters = {"domain_id": domain_id}
        for index, (name, values) in enumerate(some):
            parameters.update({f"name_{index}": name, f"values_{index}": values})
        for name, value, profile_id in conn.execute(_holders_query(conn.dialect.name, len(some)), parameters):
            holders[(name, value)].append(profile_id)
    return holders


@functools.lru_cache(maxsize=32)
def _holders_query(dialect: str, lists: int):
    """The holders of the values of `lists` key names (parameters name_<i>, values_<i>), built once:
    a chunk of one object asks it for every object of a stream."""
    k = profile_keys.c
    queries = [select(k.key_name, k.value, k.profile_id)
               .where(k.domain_id == bindparam("domain_id"), k.key_name == bindparam(f"name_{index}"),
                      profile_store.one_of_named(dialect, k.value, f"values_{index}")) for index in range(lists)]
    return union_all(*queries) if lists > 1 else queries[0]


def _owners(conn: Connection, domain_id: int, object_type: str, unique_keys: set[str]) -> dict[str, str]:
    """The profile owning the stored object of each of these unique keys that has one."""
    owners = {}
    for keys in slices(unique_keys):
        owners.update(conn.execute(_owners_query(conn.dialect.name), {
            "domain_id": domain_id, "object_type": object_type, "keys": keys}).all())
    return owners


@functools.lru_cache(maxsize=4)
def _owners_query(dialect: str):
    o = profile_objects.c
    return select(o.unique_key, o.profile_id).where(o.domain_id == bindparam("domain_id"),
                                                    o.object_type == bindparam("object_type"),
                                                    profile_store.one_of_named(dialect, o.unique_key, "keys"))


def _held(conn: Connection, domain_id: int, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which of these (profile, key name, value) keys exist, each probed along the whole primary key
    (a profile may hold many values of one key, and a value may be held by many profiles)."""
    held = set()
    for probes in slices(keys, _OR_TERMS):
        held |= set(conn.execute(
            select(profile_keys.c.profile_id, profile_keys.c.key_name, profile_keys.c.value)
            .where(profile_keys.c.domain_id == domain_id,
                   or_(*(and_(profile_keys.c.key_name == name, profile_keys.c.value == value,
                              profile_keys.c.profile_id == profile_id) for profile_id, name, value in probes)))).all())
    return held


def _object_key(domain_id: int, object_type: str, unique_key: str):
    return (profile_objects.c.domain_id == domain_id, profile_objects.c.object_type == object_type,
            profile_objects.c.unique_key == unique_key)


# --- objects --------------------------------------------------------------------------------------
def list_objects(conn: Connection, object_type: str, profile_id: str, after: str | None, limit: int | None,
                 unique_keys: list[str] | None = None) -> list:
    """The profile's objects of one type, by unique key: rows of (unique_key, object, created_at).
    Found by profile id alone (ids are unique across domains), so the profile's own index serves."""
    query = select(profile_objects.c.unique_key, profile_objects.c.object, profile_objects.c.created_at).where(
        profile_objects.c.profile_id == profile_id, profile_objects.c.object_type == object_type)
    if unique_keys is not None:
        query = query.where(profile_objects.c.unique_key.in_(unique_keys))
    if after is not None:
        query = query.where(profile_objects.c.unique_key > after)
    query = query.order_by(profile_objects.c.unique_key)
    return list(conn.execute(query if limit is None else query.limit(limit)))


def scrub_object_type(conn: Connection, domain: Domain, name: str, now: datetime) -> None:
    """Takes from the profiles that have objects of the named type what those objects populated
    (`ingestion.scrub`), before the type and its objects are deleted; NotFound for an unknown type.
    The domain's row is locked as for ingestion, so no object of the type arrives meanwhile. A
    thousand profiles at a time, each read with all its objects."""
    compiled = {name: load_object_type(conn, domain, name, for_ingestion=True)}
    profile_ids = sorted(set(conn.execute(select(profile_objects.c.profile_id).where(
        profile_objects.c.domain_id == domain.id, profile_objects.c.object_type == name)).scalars()))
    remove = delete(profile_keys).where(profile_keys.c.domain_id == domain.id,
                                        profile_keys.c.profile_id == bindparam("b_profile_id"),
                                        profile_keys.c.key_name == bindparam("b_key_name"),
                                        profile_keys.c.value == bindparam("b_value"))
    for ids in slices(profile_ids, 1000):
        given: dict[str, list[ingestion.Reading]] = {profile_id: [] for profile_id in ids}
        kept: dict[str, list[ingestion.Reading]] = {profile_id: [] for profile_id in ids}
        for profile_id, type_name, text in conn.execute(
                select(profile_objects.c.profile_id, profile_objects.c.object_type, profile_objects.c.object)
                .where(profile_store.one_of(conn, profile_objects.c.profile_id, ids))):
            if type_name not in compiled:
                compiled[type_name] = load_object_type(conn, domain, type_name)
            try:
                reading = ingestion.read_object(compiled[type_name], text)
            except DomainError:
                continue  # an object its type no longer reads gives nothing
            (given if type_name == name else kept)[profile_id].append(reading)
        changed, keys = [], []
        for profile_id, profile in profile_store.get_profiles(conn, domain.id, ids).items():
            changes, gone = ingestion.scrub(profile, given[profile_id], kept[profile_id])
            if changes:
                changed.append(apply_update(profile, changes))
            keys += [{"b_profile_id": profile_id, "b_key_name": key_name, "b_value": value}
                     for key_name, value in sorted(gone)]
        profile_store.save_profiles(conn, domain.id, [], changed, now)
        if keys:
            conn.execute(remove, keys)


def delete_object(conn: Connection, domain_id: int, object_type: str, profile_id: str, unique_key: str) -> bool:
    result = conn.execute(delete(profile_objects).where(*_object_key(domain_id, object_type, unique_key),
                                                        profile_objects.c.profile_id == profile_id))
    return result.rowcount > 0


# --- search ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchKey:
    """One key of a search: its name and values as asked, and for each value the indexed values it
    matches (its normal forms: a phone number however formatted, an email address in any case)."""
    name: str
    forms: dict[str, set[str]]

    @classmethod
    def of(cls, name: str, values: list[str], kinds: set[str]) -> SearchKey:
        return cls(name, {value: key_forms(kinds, value) for value in values})

    @property
    def indexed(self) -> list[str]:
        return sorted({form for forms in self.forms.values() for form in forms})


def search_profiles(conn: Connection, domain_id: int, keys: list[SearchKey], match_all: bool,
                    after: str | None, limit: int) -> list[str]:
    """Ids of the profiles answering to all (match_all) or any of the keys, in id order, after `after`.
    Driven by the key index, never by a walk through the domain's profiles."""
    branches = []
    for key in keys:
        if key.name == ingestion.PROFILE_ID_KEY:
            column = profiles.c.id
            branch = select(column.label("id")).where(profiles.c.domain_id == domain_id, column.in_(list(key.forms)))
        else:
            column = profile_keys.c.profile_id
            branch = select(column.label("id")).where(profile_keys.c.domain_id == domain_id,
                                                     profile_keys.c.key_name.in_(key_names(key.name)),
                                                     profile_keys.c.value.in_(key.indexed))
        branches.append(branch if after is None else branch.where(column > after))
    if len(branches) == 1:
        found = branches[0].distinct().subquery()
    else:
        found = (intersect(*branches) if match_all else union(*branches)).subquery()
    return list(conn.execute(select(found.c.id).order_by(found.c.id).limit(limit)).scalars())


def found_by(conn: Connection, domain_id: int, profile_ids: list[str], keys: list[SearchKey]) -> dict[str, list[dict]]:
    """For each profile, the search keys (with the values, as asked) it was found by, in the order asked."""
    held: set[tuple[str, str, str]] = set()  # (profile id, key name as asked, indexed value)
    for key in keys:
        if key.name == ingestion.PROFILE_ID_KEY:
            held |= {(profile_id, key.name, profile_id) for profile_id in profile_ids}
        elif profile_ids:
            # One probe per key along the whole primary key: never a scan of a key's every value.
            held |= {(profile_id, key.name, value) for profile_id, value in conn.execute(
                select(profile_keys.c.profile_id, profile_keys.c.value)
                .where(profile_keys.c.domain_id == domain_id, profile_keys.c.key_name.in_(key_names(key.name)),
                       profile_keys.c.value.in_(key.indexed), profile_keys.c.profile_id.in_(profile_ids)))}
    return {profile_id: [{"KeyName": key.name, "Values": matched} for key in keys
                         if (matched := [value for value, forms in key.forms.items()
                                         if any((profile_id, key.name, form) in held for form in forms)])]
            for profile_id in profile_ids}


def key_in_use(conn: Connection, domain_id: int, key_name: str) -> bool:
    query = select(profile_keys.c.key_name).where(profile_keys.c.domain_id == domain_id,
                                                  profile_keys.c.key_name == key_name).limit(1)
    return conn.execute(query).first() is not None


def profile_exists(conn: Connection, domain_id: int, profile_id: str) -> bool:
    query = select(profiles.c.id).where(profiles.c.domain_id == domain_id, profiles.c.id == profile_id)
    return conn.execute(query).first() is not None
