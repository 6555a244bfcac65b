"""Customer Profiles: segment definitions, membership, estimates and snapshots.

Segments are CLASSIC segments in the SegmentGroups language (`reachout.domain.segment` says what it
means); SegmentSqlQuery is refused. Estimates and snapshots are computed at once, inside the
request: an estimate is stored SUCCEEDED with its count (CreateSegmentEstimate answers 201), and a
snapshot is written to a local `file://` destination before CreateSegmentSnapshot answers (COMPLETED,
or FAILED with the reason when the file cannot be written). A segment other segments are built on
cannot be deleted until they are. SegmentSort is kept and described back; members come in ProfileId
order.
"""
from __future__ import annotations

import csv
import functools
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from reachout.aws.gateway import Call
from reachout.domain.errors import DomainError, NotFound
from reachout.domain.profile import ADDRESS_FIELDS, ADDRESS_PARTS, TEXT_FIELDS
from reachout.domain.segment import check, source_names
from reachout.providers import Provider
from reachout.providers.paging import page, position
from reachout.providers.profiles import domain_or_404
from reachout.store import profiles, tags
from reachout.store import segments as store
from reachout.store.profile_domains import Domain

DEFINITION_FIELDS = ("DisplayName", "Description", "SegmentGroups", "SegmentSort")
SQL_REFUSED = ("SegmentSqlQuery is not supported: Reachout evaluates CLASSIC segments only; describe the "
               "segment with SegmentGroups")
SNAPSHOT_SUFFIX = {"CSV": ".csv", "JSONL": ".jsonl"}


def segment_or_404(conn, domain: Domain, name: str) -> store.SegmentDefinition:
    segment = store.get_definition(conn, domain.id, name)
    if segment is None:
        raise NotFound(f"Segment definition {name} not found in domain {domain.name}")
    return segment


class SegmentsProvider(Provider):
    # --- definitions ----------------------------------------------------------------------------------
    def create_segment_definition(self, call: Call) -> dict:
        params, name = call.params, call.params["SegmentDefinitionName"]
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            if "SegmentSqlQuery" in params:
                raise DomainError(SQL_REFUSED)
            if "SegmentGroups" not in params:
                raise DomainError("SegmentGroups is required: it says which profiles are in the segment")
            check(params["SegmentGroups"])
            if store.get_definition(conn, domain.id, name) is not None:
                raise DomainError(f"Segment definition {name} already exists in domain {domain.name}")
            for source in source_names(params["SegmentGroups"]):
                if store.get_definition(conn, domain.id, source) is None:
                    raise DomainError(f"Source segment {source} does not exist in domain {domain.name}")
            arn = f"arn:aws:profile:{call.region}:{call.account_id}:domains/{domain.name}/segment-definitions/{name}"
            definition = {field: params[field] for field in DEFINITION_FIELDS if field in params}
            segment = store.create_definition(conn, domain.id, name, arn, definition, self.clock.now())
            tags.put_tags(conn, arn, params.get("Tags", {}))
            return {"SegmentDefinitionName": name, "DisplayName": definition["DisplayName"],
                    "Description": definition.get("Description"), "CreatedAt": segment.created_at,
                    "SegmentDefinitionArn": arn, "Tags": tags.get_tags(conn, arn)}

    def get_segment_definition(self, call: Call) -> dict:
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            segment = segment_or_404(conn, domain, call.params["SegmentDefinitionName"])
            return {"SegmentDefinitionName": segment.name, **segment.definition,
                    "SegmentDefinitionArn": segment.arn, "CreatedAt": segment.created_at,
                    "Tags": tags.get_tags(conn, segment.arn), "SegmentType": "CLASSIC"}

    def list_segment_definitions(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        after = position(call.params.get("NextToken"))
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            rows = store.list_definitions(conn, domain.id, after[1] if after else None, limit + 1)
            rows, token = page(rows, limit, lambda s: (s.created_at, s.name))
            items = [{"SegmentDefinitionName": s.name, "DisplayName": s.definition["DisplayName"],
                      "Description": s.definition.get("Description"), "SegmentDefinitionArn": s.arn,
                      "CreatedAt": s.created_at, "Tags": tags.get_tags(conn, s.arn), "SegmentType": "CLASSIC"}
                     for s in rows]
        return {"Items": items, "NextToken": token}

    def delete_segment_definition(self, call: Call) -> dict:
        """Refused while another segment is built on this one: deleting it would leave those
        segments meaning nothing."""
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            segment = segment_or_404(conn, domain, call.params["SegmentDefinitionName"])
            users = store.dependents(conn, domain.id, segment.name)
            if users:
                raise DomainError(f"Segment definition {segment.name} is a source segment of {', '.join(users)}: "
                                  "delete those first")
            store.delete_definition(conn, domain.id, segment.name)
            tags.remove_tags(conn, segment.arn)
        return {"Message": f"Segment definition {segment.name} was deleted"}

    # --- membership and estimates ---------------------------------------------------------------------
    def get_segment_membership(self, call: Call) -> dict:
        ids = list(dict.fromkeys(call.params["ProfileIds"]))
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            segment = segment_or_404(conn, domain, call.params["SegmentDefinitionName"])
            found = profiles.get_profiles(conn, domain.id, ids)
            present = store.members_among(conn, domain.id, segment.segment_groups, found)
        results = []
        for profile_id in (i for i in ids if i in found):
            if profile_id in present:
                results.append({"ProfileId": profile_id, "QueryResult": "PRESENT", "Profile": found[profile_id]})
            else:
                results.append({"ProfileId": profile_id, "QueryResult": "ABSENT"})
        return {"SegmentDefinitionName": segment.name, "Profiles": results,
                "Failures": [{"ProfileId": i, "Message": f"Profile {i} not found in domain {domain.name}",
                              "Status": 404} for i in ids if i not in found],
                "LastComputedAt": self.clock.now()}

    def create_segment_estimate(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            if "SegmentSqlQuery" in call.params:
                raise DomainError(SQL_REFUSED)
            query = call.params.get("SegmentQuery")
            if query is None:
                raise DomainError("SegmentQuery is required: it says which profiles to count")
            check(query)
            estimate = store.Estimate(str(uuid.uuid4()), "SUCCEEDED", store.count_members(conn, domain.id, query),
                                      None, self.clock.now())
            store.save_estimate(conn, domain.id, estimate, query)
        # 201: the estimate exists (already computed) and can be read with GetSegmentEstimate.
        return {"DomainName": domain.name, "EstimateId": estimate.id, "StatusCode": 201}

    def get_segment_estimate(self, call: Call) -> dict:
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            estimate = store.get_estimate(conn, domain.id, call.params["EstimateId"])
        if estimate is None:
            raise NotFound(f"Segment estimate {call.params['EstimateId']} not found in domain {domain.name}")
        return {"DomainName": domain.name, "EstimateId": estimate.id, "Status": estimate.status,
                "Estimate": str(estimate.estimate), "Message": estimate.message, "StatusCode": 200}

    # --- snapshots ------------------------------------------------------------------------------------
    def create_segment_snapshot(self, call: Call) -> dict:
        params = call.params
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            segment = segment_or_404(conn, domain, params["SegmentDefinitionName"])
            data_format = params["DataFormat"]
            if data_format not in SNAPSHOT_SUFFIX:
                raise DomainError(f"DataFormat {data_format} is not supported: choose CSV or JSONL")
            if not params.get("DestinationUri"):
                raise DomainError("DestinationUri is required: a file:// URI of a file or directory on the "
                                  "Reachout server's machine")
            snapshot_id = uuid.uuid4().hex
            target = snapshot_target(params["DestinationUri"], snapshot_id, data_format)
            members = functools.partial(store.member_profiles, conn, domain.id, segment.segment_groups)
            try:
                count = write_snapshot(target, data_format, members)
                status, message = "COMPLETED", f"{count} profiles written to {target}"
            except OSError as error:
                status, message = "FAILED", f"Could not write {target}: {error.strerror or error}"
            store.save_snapshot(conn, domain.id, store.Snapshot(
                snapshot_id, segment.name, data_format, params["DestinationUri"], status, message, self.clock.now()))
        return {"SnapshotId": snapshot_id}

    def get_segment_snapshot(self, call: Call) -> dict:
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            segment = segment_or_404(conn, domain, call.params["SegmentDefinitionName"])
            snapshot = store.get_snapshot(conn, domain.id, segment.name, call.params["SnapshotId"])
        if snapshot is None:
            raise NotFound(f"Snapshot {call.params['SnapshotId']} of segment {segment.name} not found")
        return {"SnapshotId": snapshot.id, "Status": snapshot.status, "StatusMessage": snapshot.status_message,
                "DataFormat": snapshot.data_format, "DestinationUri": snapshot.destination_uri}


# --- snapshot files ------------------------------------------------------------------------------------
def snapshot_target(uri: str, snapshot_id: str, data_format: str) -> Path:
    """The file a snapshot goes to: the file the URI names, or `<SnapshotId>.csv|.jsonl` inside it when
    it names a directory (ends with / or is one)."""
    parsed = urlparse(uri)
    path = Path(url2pathname(unquote(parsed.path)))
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost") or not path.is_absolute():
        raise DomainError(f"DestinationUri {uri} is not supported: Reachout writes snapshots to local "
                          "file:// URIs (file:///absolute/path/to/file-or-directory/)")
    if uri.endswith("/") or path.is_dir():
        return path / f"{snapshot_id}{SNAPSHOT_SUFFIX[data_format]}"
    return path


def write_snapshot(target: Path, data_format: str, members: Callable[[], Iterator[dict]]) -> int:
    """Writes every member profile, one per line, atomically (a temporary file renamed into place);
    returns how many. `members()` streams the profiles afresh each time it is called."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            count = _write_csv(out, members) if data_format == "CSV" else _write_jsonl(out, members())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _write_jsonl(out, members: Iterable[dict]) -> int:
    count = 0
    for profile in members:
        out.write(json.dumps(profile, ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_csv(out, members: Callable[[], Iterator[dict]]) -> int:
    """A header of the fields present in any member (nested ones flattened: Address.City,
    Attributes.<key>; EngagementPreferences as JSON), then one row per profile. Two passes, so that
    the header is known before the first row without holding the profiles in memory."""
    present = {"ProfileId"}  # even an empty snapshot says what its rows would be
    for profile in members():
        present.update(_flat(profile))
    order = ["ProfileId", *TEXT_FIELDS,
             *(f"{field}.{part}" for field in ADDRESS_FIELDS for part in ADDRESS_PARTS)]
    header = [c for c in order if c in present]
    header += sorted(present - set(header) - {"EngagementPreferences"})  # Attributes.<key>, A to Z
    header += [c for c in ("EngagementPreferences",) if c in present]
    writer = csv.DictWriter(out, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    count = 0
    for profile in members():
        writer.writerow(_flat(profile))
        count += 1
    return count


def _flat(profile: dict) -> dict[str, str]:
    flat = {}
    for name, value in profile.items():
        if name == "EngagementPreferences":
            flat[name] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, dict):
            flat.update({f"{name}.{part}": part_value for part, part_value in value.items()})
        else:
            flat[name] = value
    return flat
