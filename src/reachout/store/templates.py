"""Knowledge bases, message templates and their versions (Amazon Q in Connect)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from reachout.store.sequences import next_value
from reachout.store.tables import knowledge_bases, message_template_versions, message_templates


@dataclass
class KnowledgeBase:
    id: str
    seq: int
    region: str
    arn: str
    name: str
    knowledge_base_type: str
    settings: dict
    client_token: str | None
    fingerprint: str | None
    created_at: datetime
    content_modified_at: datetime | None


@dataclass
class MessageTemplate:
    id: str
    seq: int
    knowledge_base_id: str
    arn: str
    name: str
    channel_subtype: str
    details: dict  # description, groupingConfiguration
    draft: dict  # $LATEST: content, language, defaultAttributes
    active_version: int | None
    last_version: int
    client_token: str | None
    fingerprint: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Version:
    template_id: str
    version: int
    snapshot: dict  # content, language, defaultAttributes
    sha256: str
    created_at: datetime


# --- knowledge bases -----------------------------------------------------------------------------
def insert_knowledge_base(conn: Connection, *, id: str, region: str, arn: str, name: str, knowledge_base_type: str,
                          settings: dict, client_token: str | None, fingerprint: str | None,
                          now: datetime) -> KnowledgeBase:
    row = dict(id=id, seq=next_value(conn, "knowledge_bases"), region=region, arn=arn, name=name,
               knowledge_base_type=knowledge_base_type, settings=settings, client_token=client_token,
               fingerprint=fingerprint, created_at=now, content_modified_at=None)
    conn.execute(insert(knowledge_bases).values(row))
    return KnowledgeBase(**row)


def get_knowledge_base(conn: Connection, region: str, knowledge_base_id: str) -> KnowledgeBase | None:
    row = conn.execute(select(knowledge_bases).where(knowledge_bases.c.region == region,
                                                     knowledge_bases.c.id == knowledge_base_id)).first()
    return KnowledgeBase(**row._asdict()) if row else None


def find_knowledge_base(conn: Connection, *, arn: str | None = None, region: str | None = None,
                        client_token: str | None = None) -> KnowledgeBase | None:
    """By ARN, or by the region and idempotency token it was created with."""
    query = select(knowledge_bases)
    query = (query.where(knowledge_bases.c.arn == arn) if arn is not None else
             query.where(knowledge_bases.c.region == region, knowledge_bases.c.client_token == client_token))
    row = conn.execute(query).first()
    return KnowledgeBase(**row._asdict()) if row else None


def list_knowledge_bases(conn: Connection, region: str, after: int | None, limit: int) -> list[KnowledgeBase]:
    query = select(knowledge_bases).where(knowledge_bases.c.region == region)
    if after is not None:
        query = query.where(knowledge_bases.c.seq > after)
    rows = conn.execute(query.order_by(knowledge_bases.c.seq).limit(limit))
    return [KnowledgeBase(**row._asdict()) for row in rows]


def touch_knowledge_base(conn: Connection, knowledge_base_id: str, now: datetime) -> None:
    """Its content (a template or version) changed."""
    conn.execute(update(knowledge_bases).where(knowledge_bases.c.id == knowledge_base_id)
                 .values(content_modified_at=now))


def delete_knowledge_base(conn: Connection, knowledge_base: KnowledgeBase) -> list[str]:
    """The knowledge base and its templates; returns the ARNs of the templates it held."""
    templates = conn.execute(select(message_templates.c.id, message_templates.c.arn)
                             .where(message_templates.c.knowledge_base_id == knowledge_base.id)).all()
    ids = [row.id for row in templates]
    if ids:
        conn.execute(delete(message_template_versions).where(message_template_versions.c.template_id.in_(ids)))
        conn.execute(delete(message_templates).where(message_templates.c.id.in_(ids)))
    conn.execute(delete(knowledge_bases).where(knowledge_bases.c.id == knowledge_base.id))
    return [row.arn for row in templates]


# --- message templates ---------------------------------------------------------------------------
def insert_template(conn: Connection, *, id: str, knowledge_base_id: str, arn: str, name: str, channel_subtype: str,
                    details: dict, draft: dict, client_token: str | None, fingerprint: str | None,
                    now: datetime) -> MessageTemplate:
    row = dict(id=id, seq=next_value(conn, "message_templates"), knowledge_base_id=knowledge_base_id, arn=arn,
               name=name, channel_subtype=channel_subtype, details=details, draft=draft, active_version=None,
               last_version=0, client_token=client_token, fingerprint=fingerprint, created_at=now, updated_at=now)
    conn.execute(insert(message_templates).values(row))
    return MessageTemplate(**row)


def get_template(conn: Connection, knowledge_base_id: str, template_id: str, *,
                 for_update: bool = False) -> MessageTemplate | None:
    query = select(message_templates).where(message_templates.c.knowledge_base_id == knowledge_base_id,
                                            message_templates.c.id == template_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return MessageTemplate(**row._asdict()) if row else None


def find_template(conn: Connection, knowledge_base_id: str, *, name: str | None = None,
                  client_token: str | None = None) -> MessageTemplate | None:
    """By name, or by the idempotency token it was created with."""
    query = select(message_templates).where(message_templates.c.knowledge_base_id == knowledge_base_id)
    query = (query.where(message_templates.c.name == name) if name is not None else
             query.where(message_templates.c.client_token == client_token))
    row = conn.execute(query).first()
    return MessageTemplate(**row._asdict()) if row else None


def find_template_by_arn(conn: Connection, arn: str) -> MessageTemplate | None:
    row = conn.execute(select(message_templates).where(message_templates.c.arn == arn)).first()
    return MessageTemplate(**row._asdict()) if row else None


def save_template(conn: Connection, template: MessageTemplate, now: datetime) -> None:
    """Name, details, draft and active version as the object now has them."""
    template.updated_at = now
    conn.execute(update(message_templates).where(message_templates.c.id == template.id).values(
        name=template.name, details=template.details, draft=template.draft, active_version=template.active_version,
        last_version=template.last_version, updated_at=now))


def list_templates(conn: Connection, knowledge_base_id: str, after: int | None, limit: int) -> list[MessageTemplate]:
    query = select(message_templates).where(message_templates.c.knowledge_base_id == knowledge_base_id)
    if after is not None:
        query = query.where(message_templates.c.seq > after)
    rows = conn.execute(query.order_by(message_templates.c.seq).limit(limit))
    return [MessageTemplate(**row._asdict()) for row in rows]


def delete_template(conn: Connection, template: MessageTemplate) -> None:
    conn.execute(delete(message_template_versions).where(message_template_versions.c.template_id == template.id))
    conn.execute(delete(message_templates).where(message_templates.c.id == template.id))


# --- versions ------------------------------------------------------------------------------------
def insert_version(conn: Connection, template: MessageTemplate, snapshot: dict, sha256: str,
                   now: datetime) -> Version:
    """The next version number, from the template's counter (call with the template row locked)."""
    template.last_version += 1
    version = Version(template.id, template.last_version, snapshot, sha256, now)
    conn.execute(insert(message_template_versions).values(template_id=version.template_id, version=version.version,
                                                          snapshot=snapshot, sha256=sha256, created_at=now))
    conn.execute(update(message_templates).where(message_templates.c.id == template.id)
                 .values(last_version=template.last_version))
    return version


def get_version(conn: Connection, template_id: str, version: int) -> Version | None:
    row = conn.execute(select(message_template_versions).where(
        message_template_versions.c.template_id == template_id, message_template_versions.c.version == version)).first()
    return Version(**row._asdict()) if row else None


def newest_version(conn: Connection, template_id: str) -> Version | None:
    row = conn.execute(select(message_template_versions).where(message_template_versions.c.template_id == template_id)
                       .order_by(message_template_versions.c.version.desc()).limit(1)).first()
    return Version(**row._asdict()) if row else None


def list_versions(conn: Connection, template_id: str, after: int | None, limit: int) -> list[Version]:
    query = select(message_template_versions).where(message_template_versions.c.template_id == template_id)
    if after is not None:
        query = query.where(message_template_versions.c.version > after)
    rows = conn.execute(query.order_by(message_template_versions.c.version).limit(limit))
    return [Version(**row._asdict()) for row in rows]


def delete_version(conn: Connection, template_id: str, version: int) -> bool:
    result = conn.execute(delete(message_template_versions).where(
        message_template_versions.c.template_id == template_id, message_template_versions.c.version == version))
    return result.rowcount > 0


# --- for the engine --------------------------------------------------------------------------------
def content_for_arn(conn: Connection, arn: str) -> tuple[str, dict] | None:
    """(channel subtype, {content, language, defaultAttributes}) of the template a campaign names by
    ARN: `:{n}` is that version, `:$LATEST` the draft, `:$ACTIVE_VERSION` or no qualifier the active
    version (the draft while no version is active). None when there is no such template or version."""
    base, qualifier = split_qualifier(arn)
    template = find_template_by_arn(conn, base)
    return _content(conn, template, qualifier) if template is not None else None


def content_for_ids(conn: Connection, region: str, knowledge_base_id: str,
                    template_id: str) -> tuple[str, dict] | None:
    """The same for a template named as the Connect APIs name it (TemplatedMessageConfig): the
    knowledge base by id or ARN, the template by id or ARN, either with a qualifier or without."""
    knowledge_base = get_knowledge_base(conn, region, knowledge_base_id.rpartition("/")[2])
    if knowledge_base is None or (knowledge_base_id.startswith("arn:") and knowledge_base_id != knowledge_base.arn):
        return None
    base, qualifier = split_qualifier(template_id)
    template = get_template(conn, knowledge_base.id, base.rpartition("/")[2])
    if template is None or (base.startswith("arn:") and base != template.arn):
        return None
    return _content(conn, template, qualifier)


def _content(conn: Connection, template: MessageTemplate, qualifier: str | None) -> tuple[str, dict] | None:
    if qualifier == "$LATEST" or (qualifier is None and template.active_version is None):
        return template.channel_subtype, template.draft
    if qualifier in (None, "$ACTIVE_VERSION"):
        number = template.active_version
    elif qualifier.isdigit():
        number = int(qualifier)
    else:
        return None
    version = get_version(conn, template.id, number) if number is not None else None
    return (template.channel_subtype, version.snapshot) if version else None


def split_qualifier(identifier: str) -> tuple[str, str | None]:
    """`id:qualifier` or `arn...:qualifier` -> (id or ARN, qualifier); the qualifier follows the
    last path segment (ARNs themselves are full of colons)."""
    head, slash, last = identifier.rpartition("/")
    name, colon, qualifier = last.partition(":")
    return head + slash + name, (qualifier if colon else None)
