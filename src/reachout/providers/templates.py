"""Amazon Q in Connect (`qconnect`), the part campaigns use: knowledge bases of message templates,
EMAIL and SMS templates, their versions and activation, RenderMessageTemplate, and tags.

A template's `$LATEST` is its editable draft; CreateMessageTemplateVersion freezes the draft as
version 1, 2, ...; at most one version is active (`$ACTIVE_VERSION`). Identifiers may be ids or
ARNs, and template identifiers may carry a qualifier (`id:2`, `id:$LATEST`, `id:$ACTIVE_VERSION`)
where the model allows one.
"""
from __future__ import annotations

import hashlib
import json
import uuid

from reachout.aws.gateway import Call
from reachout.domain.errors import Conflict, DomainError, NotFound, TokenReused
from reachout.domain.template import (CHANNEL_CONTENT, LANGUAGES, attribute_types, check_content, content_sha256,
                                      merge, preview, template_variables)
from reachout.providers import Provider
from reachout.providers.paging import page, sequence_position
from reachout.store import tags
from reachout.store import templates as store
from reachout.store.templates import KnowledgeBase, MessageTemplate, Version, split_qualifier

SERVICE = "qconnect"
KNOWLEDGE_BASE_SETTINGS = ("description", "serverSideEncryptionConfiguration", "vectorIngestionConfiguration")
DRAFT_MEMBERS = ("content", "language", "defaultAttributes")  # what a version freezes
DETAIL_MEMBERS = ("description", "groupingConfiguration")  # what every version shares


class TemplatesProvider(Provider):
    # --- knowledge bases ----------------------------------------------------------------------
    def create_knowledge_base(self, call: Call) -> dict:
        params = call.params
        if params["knowledgeBaseType"] != "MESSAGE_TEMPLATES":
            raise DomainError(f"Reachout serves MESSAGE_TEMPLATES knowledge bases only, not "
                              f"{params['knowledgeBaseType']}")
        for member in ("sourceConfiguration", "renderingConfiguration"):
            if member in params:
                raise DomainError(f"{member} applies to EXTERNAL and MANAGED knowledge bases, not MESSAGE_TEMPLATES")
        token, fingerprint = _idempotency(params)
        with self.db.transaction() as conn:
            earlier = store.find_knowledge_base(conn, region=call.region, client_token=token) if token else None
            if earlier is not None:
                _same_request(earlier.fingerprint, fingerprint)
                return {"knowledgeBase": self._knowledge_base_view(conn, earlier)}
            knowledge_base_id = str(uuid.uuid4())
            knowledge_base = store.insert_knowledge_base(
                conn, id=knowledge_base_id, region=call.region,
                arn=f"arn:aws:wisdom:{call.region}:{call.account_id}:knowledge-base/{knowledge_base_id}",
                name=params["name"], knowledge_base_type=params["knowledgeBaseType"],
                settings={k: params[k] for k in KNOWLEDGE_BASE_SETTINGS if k in params},
                client_token=token, fingerprint=fingerprint, now=self.clock.now())
            tags.put_tags(conn, knowledge_base.arn, params.get("tags", {}))
            return {"knowledgeBase": self._knowledge_base_view(conn, knowledge_base)}

    def get_knowledge_base(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"knowledgeBase": self._knowledge_base_view(conn, self._knowledge_base(conn, call))}

    def list_knowledge_bases(self, call: Call) -> dict:
        limit = call.params.get("maxResults", 100)
        with self.db.read() as conn:
            rows = store.list_knowledge_bases(conn, call.region, sequence_position(call.params.get("nextToken")),
                                              limit + 1)
            rows, token = page(rows, limit, lambda kb: (kb.created_at, str(kb.seq)))
            return {"knowledgeBaseSummaries": [self._knowledge_base_view(conn, kb) for kb in rows], "nextToken": token}

    def delete_knowledge_base(self, call: Call) -> None:
        """With its templates and versions, as deleting a Customer Profiles domain takes its profiles."""
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            for arn in store.delete_knowledge_base(conn, knowledge_base):
                tags.remove_tags(conn, arn)
            tags.remove_tags(conn, knowledge_base.arn)

    def _knowledge_base(self, conn, call: Call) -> KnowledgeBase:
        """The knowledge base a call names by id or ARN, in the call's region."""
        identifier = call.params["knowledgeBaseId"]
        if identifier.startswith("arn:"):
            knowledge_base = store.find_knowledge_base(conn, arn=identifier)
            if knowledge_base is not None and knowledge_base.region != call.region:
                knowledge_base = None
        else:
            knowledge_base = store.get_knowledge_base(conn, call.region, identifier)
        if knowledge_base is None:
            raise NotFound(f"Knowledge base {identifier} not found")
        return knowledge_base

    @staticmethod
    def _knowledge_base_view(conn, knowledge_base: KnowledgeBase) -> dict:
        return {"knowledgeBaseId": knowledge_base.id, "knowledgeBaseArn": knowledge_base.arn,
                "name": knowledge_base.name, "knowledgeBaseType": knowledge_base.knowledge_base_type,
                "status": "ACTIVE", **knowledge_base.settings,
                "lastContentModificationTime": knowledge_base.content_modified_at,
                "tags": tags.get_tags(conn, knowledge_base.arn)}

    # --- message templates --------------------------------------------------------------------
    def create_message_template(self, call: Call) -> dict:
        params = call.params
        channel = params["channelSubtype"]
        if channel not in CHANNEL_CONTENT:
            raise DomainError(f"Reachout serves EMAIL and SMS message templates, not {channel}")
        if "name" not in params:
            raise DomainError("A message template needs a name")
        if "content" not in params:
            raise DomainError(f"A {channel} message template needs content")
        self._check_draft(channel, params)
        token, fingerprint = _idempotency(params)
        now = self.clock.now()
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            earlier = store.find_template(conn, knowledge_base.id, client_token=token) if token else None
            if earlier is not None:
                _same_request(earlier.fingerprint, fingerprint)
                return {"messageTemplate": self._template_view(conn, call, knowledge_base, earlier)}
            self._check_name_free(conn, knowledge_base, params["name"])
            template_id = str(uuid.uuid4())
            arn = f"arn:aws:wisdom:{call.region}:{call.account_id}:message-template/{knowledge_base.id}/{template_id}"
            template = store.insert_template(
                conn, id=template_id, knowledge_base_id=knowledge_base.id, arn=arn,
                name=params["name"], channel_subtype=channel,
                details={k: params[k] for k in DETAIL_MEMBERS if k in params},
                draft={k: params[k] for k in DRAFT_MEMBERS if k in params},
                client_token=token, fingerprint=fingerprint, now=now)
            tags.put_tags(conn, template.arn, params.get("tags", {}))
            store.touch_knowledge_base(conn, knowledge_base.id, now)
            return {"messageTemplate": self._template_view(conn, call, knowledge_base, template)}

    def get_message_template(self, call: Call) -> dict:
        with self.db.read() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, qualifier = self._template(conn, call, knowledge_base)
            version = self._version(conn, template, qualifier)
            return {"messageTemplate": self._template_view(conn, call, knowledge_base, template, version)}

    def update_message_template(self, call: Call) -> dict:
        """Changes $LATEST only: versions are immutable."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, _ = self._template(conn, call, knowledge_base, for_update=True, qualifier_allowed=False)
            self._check_draft(template.channel_subtype, call.params)
            changes = {k: call.params[k] for k in DRAFT_MEMBERS if k in call.params}
            if changes:
                template.draft = {**template.draft, **changes}
                store.save_template(conn, template, now)
                store.touch_knowledge_base(conn, knowledge_base.id, now)
            return {"messageTemplate": self._template_view(conn, call, knowledge_base, template)}

    def update_message_template_metadata(self, call: Call) -> dict:
        """Name, description and grouping, which $LATEST and every version share."""
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, _ = self._template(conn, call, knowledge_base, for_update=True, qualifier_allowed=False)
            name = call.params.get("name", template.name)
            if name != template.name:
                self._check_name_free(conn, knowledge_base, name)
            template.name = name
            template.details = {**template.details, **{k: call.params[k] for k in DETAIL_MEMBERS if k in call.params}}
            store.save_template(conn, template, self.clock.now())
            return {"messageTemplate": self._template_view(conn, call, knowledge_base, template)}

    def list_message_templates(self, call: Call) -> dict:
        limit = call.params.get("maxResults", 100)
        with self.db.read() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            rows = store.list_templates(conn, knowledge_base.id, sequence_position(call.params.get("nextToken")),
                                        limit + 1)
            rows, token = page(rows, limit, lambda t: (t.created_at, str(t.seq)))
            summaries = [{"messageTemplateArn": t.arn, "messageTemplateId": t.id,
                          "knowledgeBaseArn": knowledge_base.arn, "knowledgeBaseId": knowledge_base.id,
                          "name": t.name, "channelSubtype": t.channel_subtype, "createdTime": t.created_at,
                          "lastModifiedTime": t.updated_at, "lastModifiedBy": _caller(call),
                          "activeVersionNumber": t.active_version, "description": t.details.get("description"),
                          "tags": tags.get_tags(conn, t.arn)} for t in rows]
            return {"messageTemplateSummaries": summaries, "nextToken": token}

    def delete_message_template(self, call: Call) -> None:
        """The whole template, or with `id:{n}` that one version (never the active one)."""
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, qualifier = self._template(conn, call, knowledge_base, for_update=True)
            if qualifier is None:
                store.delete_template(conn, template)
                tags.remove_tags(conn, template.arn)
            else:
                number = _version_number(qualifier, "DeleteMessageTemplate takes a template id, or id:{version number}")
                if number == template.active_version:
                    raise Conflict(f"Version {number} of message template {template.id} is active: "
                                   "deactivate it before deleting it")
                if not store.delete_version(conn, template.id, number):
                    raise NotFound(f"Message template {template.id} has no version {number}")
            store.touch_knowledge_base(conn, knowledge_base.id, self.clock.now())

    def _template(self, conn, call: Call, knowledge_base: KnowledgeBase, *, for_update: bool = False,
                  qualifier_allowed: bool = True) -> tuple[MessageTemplate, str | None]:
        """The template a call names by id or ARN, and the qualifier it gave."""
        identifier = call.params["messageTemplateId"]
        base, qualifier = split_qualifier(identifier)
        if qualifier is not None and not qualifier_allowed:
            raise DomainError(f"{call.operation} takes a message template id or ARN without a qualifier, "
                              f"not {identifier}")
        template = store.get_template(conn, knowledge_base.id, base.rpartition("/")[2], for_update=for_update)
        if template is None or (base.startswith("arn:") and base != template.arn):
            raise NotFound(f"Message template {identifier} not found in knowledge base {knowledge_base.id}")
        return template, qualifier

    @staticmethod
    def _version(conn, template: MessageTemplate, qualifier: str | None) -> Version | None:
        """The version a qualifier names; None for $LATEST (the draft), which no qualifier means."""
        if qualifier in (None, "$LATEST"):
            return None
        if qualifier == "$ACTIVE_VERSION":
            if template.active_version is None:
                raise NotFound(f"Message template {template.id} has no active version")
            number = template.active_version
        else:
            number = _version_number(qualifier, "A qualifier is a version number, $LATEST or $ACTIVE_VERSION")
        version = store.get_version(conn, template.id, number)
        if version is None:
            raise NotFound(f"Message template {template.id} has no version {number}")
        return version

    @staticmethod
    def _check_draft(channel: str, params: dict) -> None:
        if "sourceConfiguration" in params:
            raise DomainError("sourceConfiguration applies to WHATSAPP message templates only")
        if params.get("language") is not None and params["language"] not in LANGUAGES:
            raise DomainError(f"Language {params['language']} is not supported: use one of {', '.join(LANGUAGES)}")
        if "content" in params:
            check_content(channel, params["content"])

    @staticmethod
    def _check_name_free(conn, knowledge_base: KnowledgeBase, name: str) -> None:
        if store.find_template(conn, knowledge_base.id, name=name) is not None:
            raise Conflict(f"A message template named {name} already exists in knowledge base {knowledge_base.id}")

    @staticmethod
    def _template_view(conn, call: Call, knowledge_base: KnowledgeBase, template: MessageTemplate,
                       version: Version | None = None) -> dict:
        """MessageTemplateData / ExtendedMessageTemplateData of $LATEST, or of a version."""
        source = version.snapshot if version else template.draft
        view = {
            "messageTemplateArn": f"{template.arn}:{version.version}" if version else template.arn,
            "messageTemplateId": template.id, "knowledgeBaseArn": knowledge_base.arn,
            "knowledgeBaseId": knowledge_base.id, "name": template.name, "channelSubtype": template.channel_subtype,
            "createdTime": template.created_at,
            "lastModifiedTime": version.created_at if version else template.updated_at,
            "lastModifiedBy": _caller(call), **template.details, **source,
            "attributeTypes": attribute_types(source["content"]) if "content" in source else None,
            "messageTemplateContentSha256": version.sha256 if version else _draft_sha256(template.draft),
            "tags": tags.get_tags(conn, template.arn),
        }
        if version:
            view.update(versionNumber=version.version, isActive=template.active_version == version.version)
        return view

    # --- versions and activation --------------------------------------------------------------
    def create_message_template_version(self, call: Call) -> dict:
        """Freezes $LATEST; while $LATEST stays as the newest version froze it, the same version comes back."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, _ = self._template(conn, call, knowledge_base, for_update=True, qualifier_allowed=False)
            sha256 = _draft_sha256(template.draft)
            expected = call.params.get("messageTemplateContentSha256")
            if expected is not None and expected != sha256:
                raise Conflict(f"Message template {template.id} changed: its $LATEST content checksum is {sha256}, "
                               f"not {expected}")
            version = store.newest_version(conn, template.id)
            if version is None or version.sha256 != sha256:
                version = store.insert_version(conn, template, template.draft, sha256, now)
                store.touch_knowledge_base(conn, knowledge_base.id, now)
            return {"messageTemplate": self._template_view(conn, call, knowledge_base, template, version)}

    def list_message_template_versions(self, call: Call) -> dict:
        limit = call.params.get("maxResults", 100)
        with self.db.read() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, _ = self._template(conn, call, knowledge_base, qualifier_allowed=False)
            rows = store.list_versions(conn, template.id, sequence_position(call.params.get("nextToken")), limit + 1)
            rows, token = page(rows, limit, lambda v: (v.created_at, str(v.version)))
            summaries = [{"messageTemplateArn": f"{template.arn}:{v.version}", "messageTemplateId": template.id,
                          "knowledgeBaseArn": knowledge_base.arn, "knowledgeBaseId": knowledge_base.id,
                          "name": template.name, "channelSubtype": template.channel_subtype,
                          "isActive": template.active_version == v.version, "versionNumber": v.version}
                         for v in rows]
            return {"messageTemplateVersionSummaries": summaries, "nextToken": token}

    def activate_message_template(self, call: Call) -> dict:
        """The version becomes $ACTIVE_VERSION; the one active before is deactivated."""
        return self._set_active(call, activate=True)

    def deactivate_message_template(self, call: Call) -> dict:
        return self._set_active(call, activate=False)

    def _set_active(self, call: Call, *, activate: bool) -> dict:
        number = call.params["versionNumber"]
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, _ = self._template(conn, call, knowledge_base, for_update=True, qualifier_allowed=False)
            if store.get_version(conn, template.id, number) is None:
                raise NotFound(f"Message template {template.id} has no version {number}")
            if not activate and template.active_version != number:
                raise Conflict(f"Version {number} of message template {template.id} is not active")
            template.active_version = number if activate else None
            store.save_template(conn, template, self.clock.now())
        return {"messageTemplateArn": template.arn, "messageTemplateId": template.id, "versionNumber": number}

    # --- rendering ----------------------------------------------------------------------------
    def render_message_template(self, call: Call) -> dict:
        """As the model documents: a placeholder with no value, neither in `attributes` nor in the
        template's defaultAttributes, stays as it is and is listed in attributesNotInterpolated."""
        with self.db.transaction() as conn:
            knowledge_base = self._knowledge_base(conn, call)
            template, qualifier = self._template(conn, call, knowledge_base)
            version = self._version(conn, template, qualifier)
        source = version.snapshot if version else template.draft
        variables = merge(template_variables(source.get("defaultAttributes", {})),
                          template_variables(call.params["attributes"]))
        content, missing = preview(source["content"], variables)
        return {"content": content, "attributesNotInterpolated": missing}

    # --- tags -----------------------------------------------------------------------------------
    def tag_resource(self, call: Call) -> None:
        with self.db.transaction() as conn:
            tags.put_tags(conn, self._tagged(conn, call), call.params["tags"])

    def untag_resource(self, call: Call) -> None:
        with self.db.transaction() as conn:
            tags.remove_tags(conn, self._tagged(conn, call), call.params["tagKeys"])

    def list_tags_for_resource(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"tags": tags.get_tags(conn, self._tagged(conn, call))}

    @staticmethod
    def _tagged(conn, call: Call) -> str:
        """A knowledge base or message template ARN that exists in the call's region."""
        arn = call.params["resourceArn"]
        parts = arn.split(":")
        found = len(parts) > 3 and parts[3] == call.region and (
            store.find_knowledge_base(conn, arn=arn) is not None or store.find_template_by_arn(conn, arn) is not None)
        if not found:
            raise NotFound(f"Resource {arn} not found")
        return arn


def _idempotency(params: dict) -> tuple[str | None, str]:
    """(hash of the clientToken, hash of what was asked): a repeated token must repeat the request."""
    token = params.get("clientToken")
    request = {k: v for k, v in params.items() if k != "clientToken"}
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    return (hashlib.sha256(token.encode()).hexdigest() if token else None), fingerprint


def _same_request(earlier: str | None, fingerprint: str) -> None:
    if earlier != fingerprint:
        raise TokenReused("The clientToken was already used for a different request")


def _draft_sha256(draft: dict) -> str:
    return content_sha256(draft.get("content"), draft.get("language"), draft.get("defaultAttributes"))


def _version_number(qualifier: str, rule: str) -> int:
    if not qualifier.isdigit() or int(qualifier) < 1:
        raise DomainError(f"{rule}: {qualifier} is not one")
    return int(qualifier)


def _caller(call: Call) -> str:
    """lastModifiedBy: Reachout has one set of credentials per account, so the account's root."""
    return f"arn:aws:iam::{call.account_id}:root"
