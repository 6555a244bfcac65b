"""Amazon Connect Customer Profiles (`customer-profiles`): domains, tags and profiles.

Object types, ingestion, search and keys live in `profile_objects`; segments in `segments`.
"""
from __future__ import annotations

import uuid

from reachout.aws.gateway import Call
from reachout.domain.errors import DomainError, NotFound
from reachout.domain.profile import apply_update, new_profile
from reachout.providers import Provider
from reachout.providers.paging import page, position
from reachout.store import profile_domains as domains
from reachout.store import profiles, tags
from reachout.store.profile_domains import Domain

SERVICE = "customer-profiles"
DOMAIN_SETTINGS = ("DefaultExpirationDays", "DefaultEncryptionKey", "DeadLetterQueueUrl", "Matching",
                   "RuleBasedMatching", "DataStore")


def domain_or_404(conn, call: Call, *, for_update: bool = False) -> Domain:
    """The domain a call names (DomainName), which must exist in the call's region."""
    domain = domains.get_domain(conn, call.region, call.params["DomainName"], for_update=for_update)
    if domain is None:
        raise NotFound(f"Domain {call.params['DomainName']} not found")
    return domain


class ProfilesProvider(Provider):
    # --- domains ------------------------------------------------------------------------------
    def create_domain(self, call: Call) -> dict:
        name, now = call.params["DomainName"], self.clock.now()
        config = {k: call.params[k] for k in DOMAIN_SETTINGS if k in call.params}
        with self.db.transaction() as conn:
            if domains.get_domain(conn, call.region, name) is not None:
                raise DomainError(f"Domain {name} already exists")
            domain = domains.create_domain(conn, call.region, name,
                                           f"arn:aws:profile:{call.region}:{call.account_id}:domains/{name}", config, now)
            tags.put_tags(conn, domain.arn, call.params.get("Tags", {}))
            return self._domain_view(conn, domain)

    def get_domain(self, call: Call) -> dict:
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            return {**self._domain_view(conn, domain), "Stats": domains.stats(conn, domain)}

    def update_domain(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call, for_update=True)
            # The model documents an empty string as clearing a setting.
            config = {**domain.config, **{k: call.params[k] for k in DOMAIN_SETTINGS if k in call.params}}
            config = {k: v for k, v in config.items() if v != ""}
            domains.update_domain(conn, domain, config, self.clock.now())
            tags.put_tags(conn, domain.arn, call.params.get("Tags", {}))
            return self._domain_view(conn, domain_or_404(conn, call))

    def delete_domain(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call, for_update=True)
            domains.delete_domain(conn, domain)
            tags.remove_tags_under(conn, domain.arn)
        return {"Message": f"Domain {domain.name} and all its profiles, objects and segments were deleted"}

    def list_domains(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        with self.db.read() as conn:
            rows = domains.list_domains(conn, call.region, position(call.params.get("NextToken")), limit + 1)
            rows, token = page(rows, limit, lambda d: (d.created_at, d.name))
            items = [{"DomainName": d.name, "CreatedAt": d.created_at, "LastUpdatedAt": d.updated_at,
                      "Tags": tags.get_tags(conn, d.arn)} for d in rows]
        return {"Items": items, "NextToken": token}

    def _domain_view(self, conn, domain: Domain) -> dict:
        return {"DomainName": domain.name, **domain.config, "CreatedAt": domain.created_at,
                "LastUpdatedAt": domain.updated_at, "Tags": tags.get_tags(conn, domain.arn)}

    # --- tags ---------------------------------------------------------------------------------
    def tag_resource(self, call: Call) -> None:
        with self.db.transaction() as conn:
            arn = self._tagged(conn, call)
            tags.put_tags(conn, arn, call.params["tags"])

    def untag_resource(self, call: Call) -> None:
        with self.db.transaction() as conn:
            tags.remove_tags(conn, self._tagged(conn, call), call.params["tagKeys"])

    def list_tags_for_resource(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"tags": tags.get_tags(conn, self._tagged(conn, call))}

    def _tagged(self, conn, call: Call) -> str:
        """A domain, object type or segment definition ARN that exists."""
        arn = call.params["resourceArn"]
        parts = arn.split("/")
        domain = domains.find_domain_by_arn(conn, "/".join(parts[:2])) if len(parts) >= 2 else None
        found = domain is not None and domain.region == call.region and (
            len(parts) == 2
            or (len(parts) == 4 and parts[2] == "object-types"
                and domains.get_object_type(conn, domain.id, parts[3]) is not None)
            or (len(parts) == 4 and parts[2] == "segment-definitions"
                and domains.segment_exists(conn, domain.id, parts[3])))
        if not found:
            raise NotFound(f"Resource {arn} not found")
        return arn

    # --- profiles -----------------------------------------------------------------------------
    def create_profile(self, call: Call) -> dict:
        profile = new_profile(uuid.uuid4().hex, _fields(call.params))
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            profiles.save_profile(conn, domain.id, profile, self.clock.now(), new=True)
        return {"ProfileId": profile["ProfileId"]}

    def update_profile(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            profile = self._profile(conn, domain, call.params["ProfileId"])
            profiles.save_profile(conn, domain.id, apply_update(profile, _fields(call.params)), self.clock.now(),
                                  new=False)
        return {"ProfileId": profile["ProfileId"]}

    def delete_profile(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            if not profiles.delete_profile(conn, domain.id, call.params["ProfileId"]):
                raise NotFound(f"Profile {call.params['ProfileId']} not found in domain {domain.name}")
        return {"Message": f"Profile {call.params['ProfileId']} was deleted"}

    def batch_get_profile(self, call: Call) -> dict:
        ids = call.params["ProfileIds"]
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            found = profiles.get_profiles(conn, domain.id, ids)
        return {
            "Profiles": [found[i] for i in dict.fromkeys(ids) if i in found],
            "Errors": [{"Code": "ResourceNotFoundException", "Message": f"Profile {i} not found",
                        "ProfileId": i} for i in dict.fromkeys(ids) if i not in found],
        }

    @staticmethod
    def _profile(conn, domain: Domain, profile_id: str) -> dict:
        profile = profiles.get_profile(conn, domain.id, profile_id)
        if profile is None:
            raise NotFound(f"Profile {profile_id} not found in domain {domain.name}")
        return profile


def _fields(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in ("DomainName", "ProfileId")}
