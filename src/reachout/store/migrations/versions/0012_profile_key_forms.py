"""Search keys compare phone numbers and email addresses in their normal form: the _phone and _email
keys already held, and custom keys of one kind (a single field of ContentType PHONE_NUMBER or
EMAIL_ADDRESS in the domain's object types), are rewritten in it. Predefined keys that objects gave
from fields filling no standard field (a PROFILE-keyed _phone kept on the object alone), which were
not kept before, are given to the profiles of the objects already stored.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from reachout.domain import ingestion
from reachout.domain.errors import DomainError
from reachout.domain.key_values import normal_key_value
from reachout.domain.profile import GIVEN_SUFFIX, PREDEFINED_KEYS, PREDEFINED_KINDS
from reachout.store.tables import object_types, profile_keys, profile_objects

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    conn = op.get_bind()
    types = {}  # domain id -> its compiled object types
    for domain_id, name, definition in conn.execute(sa.select(object_types.c.domain_id, object_types.c.name,
                                                              object_types.c.definition)):
        try:
            types.setdefault(domain_id, []).append(ingestion.compile_object_type(name, definition))
        except DomainError:
            continue  # a definition no longer accepted ingests nothing, and gives no key
    for name, kind in PREDEFINED_KINDS.items():
        _normalise(conn, None, name, kind)
    for domain_id, compiled in types.items():
        for name, kinds in ingestion.key_kinds(compiled).items():
            if name not in PREDEFINED_KINDS and len(kinds) == 1:
                _normalise(conn, domain_id, name, next(iter(kinds)))
    for domain_id, compiled in types.items():
        for object_type in compiled:
            if any(key.name in PREDEFINED_KEYS and not key.follows_profile for key in object_type.keys):
                _give_keys(conn, domain_id, object_type)


def _normalise(conn, domain_id, key_name: str, kind: str) -> None:
    """The key's rows (in one domain, or all) in their normal form, in primary key order, a batch at a time."""
    where = [profile_keys.c.key_name == key_name]
    if domain_id is not None:
        where.append(profile_keys.c.domain_id == domain_id)
    order = (profile_keys.c.domain_id, profile_keys.c.value, profile_keys.c.profile_id)
    after = None
    while True:
        query = sa.select(*order).where(*where)
        if after is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
        rows = conn.execute(query.order_by(*order).limit(BATCH)).all()
        if not rows:
            return
        for row_domain, value, profile_id in rows:
            normal = normal_key_value(kind, value)
            if normal != value:
                conn.execute(sa.delete(profile_keys).where(
                    profile_keys.c.domain_id == row_domain, profile_keys.c.key_name == key_name,
                    profile_keys.c.value == value, profile_keys.c.profile_id == profile_id))
                _insert_missing(conn, row_domain, key_name, normal, profile_id)
        after = tuple(rows[-1])


def _give_keys(conn, domain_id: int, object_type: ingestion.ObjectType) -> None:
    """The object-given predefined keys of the type's stored objects, to their profiles."""
    after = None
    while True:
        query = sa.select(profile_objects.c.unique_key, profile_objects.c.profile_id, profile_objects.c.object).where(
            profile_objects.c.domain_id == domain_id, profile_objects.c.object_type == object_type.name)
        if after is not None:
            query = query.where(profile_objects.c.unique_key > after)
        rows = conn.execute(query.order_by(profile_objects.c.unique_key).limit(BATCH)).all()
        if not rows:
            return
        for _, profile_id, text in rows:
            try:
                reading = ingestion.read_object(object_type, text)
            except DomainError:
                continue
            for name, value in ingestion.keys_to_store(reading, created_profile=False):
                if name.endswith(GIVEN_SUFFIX):
                    _insert_missing(conn, domain_id, name, value, profile_id)
        after = rows[-1].unique_key


def _insert_missing(conn, domain_id: int, key_name: str, value: str, profile_id: str) -> None:
    key = {"domain_id": domain_id, "key_name": key_name, "value": value, "profile_id": profile_id}
    if conn.execute(sa.select(profile_keys.c.profile_id).where(
            *(profile_keys.c[column] == given for column, given in key.items()))).first() is None:
        conn.execute(sa.insert(profile_keys), key)


def downgrade() -> None:
    # The normal forms stay (the earlier code compared values as they are, and finds these as such);
    # the object-given keys, which it never reads, go.
    op.get_bind().execute(sa.delete(profile_keys).where(profile_keys.c.key_name.like(f"%{GIVEN_SUFFIX}")))
