"""Customer Profiles: object types, ingestion of profile objects, profile search and keys."""
from __future__ import annotations

from datetime import datetime, timezone

from reachout.aws.gateway import Call
from reachout.providers import Provider
from reachout.domain import ingestion
from reachout.domain.errors import DomainError, NotFound
from reachout.domain.key_values import key_forms, normal_key_value
from reachout.domain.profile import PREDEFINED_KEYS
from reachout.engine.event_triggers import Ingested, on_ingested
from reachout.providers.paging import page, position
from reachout.providers.profiles import domain_or_404
from reachout.store import profile_domains as domains
from reachout.store import profile_objects as objects
from reachout.store import profiles, tags
from reachout.store.profile_domains import Domain

# Members of PutProfileObjectType kept as the object type's definition (Tags live with the ARN).
DEFINITION_MEMBERS = ("Description", "TemplateId", "ExpirationDays", "EncryptionKey", "AllowProfileCreation",
                      "SourceLastUpdatedTimestampFormat", "MaxProfileObjectCount", "SourcePriority", "Fields", "Keys")
# Key names SearchProfiles and AddProfileKey know in every domain (the model's documentation lists them).
WELL_KNOWN_KEYS = frozenset({
    ingestion.PROFILE_ID_KEY, *PREDEFINED_KEYS, "_assetId", "_caseId", "_orderId", "_ctrContactId",
    "_marketoLeadId", "_salesforceAccountId", "_salesforceContactId", "_salesforceAssetId", "_zendeskUserId",
    "_zendeskExternalId", "_zendeskTicketId", "_serviceNowSystemId", "_serviceNowIncidentId", "_segmentUserId",
    "_shopifyCustomerId", "_shopifyOrderId"})
# Search results are ordered by profile id alone; the token's time part is unused.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# This process's PutProfileObject calls, after which PostgreSQL's statistics are refreshed (1,000
# objects, then each doubling), as `reachout ingest` and the importer refresh them.
_STATISTICS = objects.StatisticsFollower(first=1_000)


class ProfileObjectsProvider(Provider):
    # --- object types -------------------------------------------------------------------------
    def put_profile_object_type(self, call: Call) -> dict:
        name = call.params["ObjectTypeName"]
        definition = {k: call.params[k] for k in DEFINITION_MEMBERS if k in call.params}
        ingestion.compile_object_type(name, definition)  # refuses a mapping that could not be ingested through
        definition.setdefault("AllowProfileCreation", False)
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            if "DefaultExpirationDays" in domain.config:
                definition.setdefault("ExpirationDays", domain.config["DefaultExpirationDays"])
            domains.put_object_type(conn, domain.id, name, definition, self.clock.now())
            tags.put_tags(conn, _arn(domain, name), call.params.get("Tags", {}))
            return self._object_type_view(conn, domain, name)

    def get_profile_object_type(self, call: Call) -> dict:
        with self.db.read() as conn:
            return self._object_type_view(conn, domain_or_404(conn, call), call.params["ObjectTypeName"])

    def list_profile_object_types(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        after = position(call.params.get("NextToken"))
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            rows = domains.list_object_types(conn, domain.id, after and after[1], limit + 1)
            rows, token = page(rows, limit, lambda row: (row[2], row[0]))
            items = [{"ObjectTypeName": name, "Description": definition["Description"], "CreatedAt": created,
                      "LastUpdatedAt": updated, **_counts(definition),
                      **{k: definition[k] for k in ("SourcePriority",) if k in definition},
                      "Tags": tags.get_tags(conn, _arn(domain, name))}
                     for name, definition, created, updated in rows]
        return {"Items": items, "NextToken": token}

    def delete_profile_object_type(self, call: Call) -> dict:
        name = call.params["ObjectTypeName"]
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            # The model: the profile fields populated from the type are scrubbed (ingestion.scrub).
            objects.scrub_object_type(conn, domain, name, self.clock.now())
            domains.delete_object_type(conn, domain.id, name)
            tags.remove_tags(conn, _arn(domain, name))
        return {"Message": f"Object type {name}, its objects and the profile data they populated were deleted"}

    def _object_type_view(self, conn, domain: Domain, name: str) -> dict:
        found = domains.get_object_type(conn, domain.id, name)
        if found is None:
            raise NotFound(f"Object type {name} not found in domain {domain.name}")
        definition, created, updated = found
        return {"ObjectTypeName": name, **definition, **_counts(definition), "CreatedAt": created,
                "LastUpdatedAt": updated, "Tags": tags.get_tags(conn, _arn(domain, name))}

    # --- objects ------------------------------------------------------------------------------
    def put_profile_object(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            now = self.clock.now()
            result = objects.ingest(conn, domain, call.params["ObjectTypeName"], call.params["Object"], now)
            # The domain's event triggers on this object type evaluate it in the same transaction.
            on_ingested(conn, domain, call.params["ObjectTypeName"],
                        [Ingested(result.profile_id, result.unique_key, call.params["Object"])], now)
        _STATISTICS.ingested(self.db, 1)
        return {"ProfileObjectUniqueKey": result.unique_key}

    def list_profile_objects(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        after = position(call.params.get("NextToken"))
        type_name, profile_id = call.params["ObjectTypeName"], call.params["ProfileId"]
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            object_type = objects.load_object_type(conn, domain, type_name)
            self._profile_or_404(conn, domain, profile_id)
            list_after = after and after[1]
            object_filter = call.params.get("ObjectFilter")
            if object_filter is None:
                rows = objects.list_objects(conn, type_name, profile_id, list_after, limit + 1)
            else:
                rows = self._filtered(conn, object_type, profile_id, object_filter, list_after, limit + 1)
            rows, token = page(rows, limit, lambda row: (row.created_at, row.unique_key))
        return {"Items": [{"ObjectTypeName": type_name, "ProfileObjectUniqueKey": row.unique_key,
                           "Object": row.object} for row in rows], "NextToken": token}

    @staticmethod
    def _filtered(conn, object_type: ingestion.ObjectType, profile_id: str, object_filter: dict, after: str | None,
                  limit: int) -> list:
        """The profile's objects of this type answering to the filter's key values."""
        key_name, values = object_filter["KeyName"], set(object_filter["Values"])
        keys = [key for key in object_type.keys if key.name == key_name]
        if not keys:
            raise DomainError(f"{key_name} is not a key of object type {object_type.name} "
                              f"(its keys: {', '.join(sorted({k.name for k in object_type.keys})) or 'none'})")
        if all(ingestion.UNIQUE in key.identifiers for key in keys):
            # The unique key is the row's own key, as sent: filter in the database.
            return objects.list_objects(conn, object_type.name, profile_id, after, limit, sorted(values))
        # Key values are read in their normal form (a phone number however formatted).
        values = {form for value in values for form in key_forms({key.kind for key in keys}, value)}
        # Other keys are read from the objects themselves; a profile's objects of one type are few.
        rows = objects.list_objects(conn, object_type.name, profile_id, after, None)
        matching = [row for row in rows
                    if values & ingestion.key_values_of(object_type, row.object).get(key_name, set())]
        return matching[:limit]

    def delete_profile_object(self, call: Call) -> dict:
        type_name, profile_id, unique_key = (call.params["ObjectTypeName"], call.params["ProfileId"],
                                             call.params["ProfileObjectUniqueKey"])
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            objects.load_object_type(conn, domain, type_name)
            self._profile_or_404(conn, domain, profile_id)
            if not objects.delete_object(conn, domain.id, type_name, profile_id, unique_key):
                raise NotFound(f"Profile {profile_id} has no {type_name} object {unique_key}")
        return {"Message": f"The {type_name} object {unique_key} was deleted"}

    # --- search and keys ----------------------------------------------------------------------
    def search_profiles(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 20)
        after = position(call.params.get("NextToken"))
        conditions = [(call.params["KeyName"], call.params["Values"])] + [
            (key["KeyName"], key["Values"]) for key in call.params.get("AdditionalSearchKeys", [])]
        # The model documents OR as the default relationship between search keys.
        match_all = call.params.get("LogicalOperator", "OR") == "AND"
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            for name, _ in conditions:
                self._search_key_or_400(conn, domain, name)
            kinds = _key_kinds(conn, domain)
            keys = [objects.SearchKey.of(name, list(dict.fromkeys(values)), kinds.get(name, set()))
                    for name, values in conditions]
            ids = objects.search_profiles(conn, domain.id, keys, match_all, after and after[1], limit + 1)
            ids, token = page(ids, limit, lambda profile_id: (EPOCH, profile_id))
            found = profiles.get_profiles(conn, domain.id, ids)
            found_by = objects.found_by(conn, domain.id, ids, keys)
        return {"Items": [{**found[i], "FoundByItems": found_by[i]} for i in ids], "NextToken": token}

    @staticmethod
    def _search_key_or_400(conn, domain: Domain, name: str) -> None:
        """A search key must be one every domain has, one an object type defines, or one some profile holds."""
        if name in WELL_KNOWN_KEYS or objects.key_in_use(conn, domain.id, name):
            return
        defined = {key_name for _, definition, _, _ in domains.list_object_types(conn, domain.id, None, 10_000)
                   for key_name in definition.get("Keys", {})}
        if name not in defined:
            raise DomainError(f"{name} is not a search key of domain {domain.name}: use a predefined key "
                              "(_profileId, _phone, _email, _account, _fullName, ...) or a key of an object type")

    def add_profile_key(self, call: Call) -> dict:
        name, values = call.params["KeyName"], list(dict.fromkeys(call.params["Values"]))
        _check_custom_key(name)
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            profile_id = self._profile_or_404(conn, domain, call.params["ProfileId"])
            # Indexed as ingestion indexes the key: in its normal form, when the domain gives it one kind.
            kinds = _key_kinds(conn, domain).get(name, set())
            kind = next(iter(kinds)) if len(kinds) == 1 else None
            profiles.add_keys(conn, domain.id, profile_id, {(name, normal_key_value(kind, value)) for value in values})
        return {"KeyName": name, "Values": values}

    def delete_profile_key(self, call: Call) -> dict:
        name, values = call.params["KeyName"], call.params["Values"]
        _check_custom_key(name)
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            profile_id = self._profile_or_404(conn, domain, call.params["ProfileId"])
            kinds = _key_kinds(conn, domain).get(name, set())
            profiles.remove_keys(conn, domain.id, profile_id, name,
                                 sorted({form for value in values for form in key_forms(kinds, value)}))
        return {"Message": f"Key {name} was removed from profile {profile_id} for the given values"}

    @staticmethod
    def _profile_or_404(conn, domain: Domain, profile_id: str) -> str:
        if not objects.profile_exists(conn, domain.id, profile_id):
            raise NotFound(f"Profile {profile_id} not found in domain {domain.name}")
        return profile_id


def _check_custom_key(name: str) -> None:
    """_profileId, _phone, _email, _account and _fullName follow from the profile itself."""
    if name == ingestion.PROFILE_ID_KEY or name in PREDEFINED_KEYS:
        raise DomainError(f"Key {name} is derived from the profile's own fields and cannot be added or removed; "
                          "change the profile with UpdateProfile instead")


def _key_kinds(conn, domain: Domain) -> dict[str, set[str]]:
    """Key name -> the kinds of value (phone number, email address) it has in the domain."""
    return ingestion.key_kinds([ingestion.compile_object_type(name, definition) for name, definition, _, _
                                in domains.list_object_types(conn, domain.id, None, 10_000)])


def _arn(domain: Domain, name: str) -> str:
    return f"{domain.arn}/object-types/{name}"


def _counts(definition: dict) -> dict:
    """MaxProfileObjectCount, and as many available (objects beyond it are not dropped)."""
    if "MaxProfileObjectCount" not in definition:
        return {}
    return {"MaxProfileObjectCount": definition["MaxProfileObjectCount"],
            "MaxAvailableProfileObjectCount": definition["MaxProfileObjectCount"]}
