"""Amazon EventBridge (`events`, json protocol) on the default bus: rules with event patterns,
targets, TestEventPattern, PutEvents, connections and API destinations."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from reachout.aws.errors import AwsError
from reachout.aws.gateway import Call
from reachout.clock import Clock
from reachout.domain.errors import DomainError, NotFound
from reachout.events.pattern import InvalidEventPattern, matches, validate
from reachout.events.targets import connection_problem, kind_of, target_problem
from reachout.json_text import read_json
from reachout.providers import Provider
from reachout.store import event_rules, outbox
from reachout.store.db import Database

BUS = "default"
ENVELOPE = ("id", "account", "source", "time", "region", "detail-type")


class EventsProvider(Provider):
    def __init__(self, db: Database, clock: Clock, data_dir: Path):
        super().__init__(db, clock)
        self.data_dir = data_dir  # log group targets write under data_dir/events

    # --- rules --------------------------------------------------------------------------------
    def put_rule(self, call: Call) -> dict:
        p = call.params
        _default_bus(p)
        if "ScheduleExpression" in p:
            raise DomainError("Scheduled rules are not supported by Reachout; use an EventPattern")
        if "EventPattern" not in p:
            raise DomainError("Parameter EventPattern is required: Reachout's rules match events")
        _pattern(p["EventPattern"])
        arn = f"arn:aws:events:{call.region}:{call.account_id}:rule/{p['Name']}"
        spec = {"Name": p["Name"], "Arn": arn, "EventPattern": p["EventPattern"], "State": p.get("State", "ENABLED"),
                "Description": p.get("Description"), "RoleArn": p.get("RoleArn"), "EventBusName": BUS}
        with self.db.transaction() as conn:
            event_rules.put(conn, arn, call.region, "rule", p["Name"], {k: v for k, v in spec.items() if v is not None},
                            self.clock.now())
        return {"RuleArn": arn}

    def describe_rule(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {**self._rule(conn, call, call.params["Name"])["spec"], "CreatedBy": call.account_id}

    def list_rules(self, call: Call) -> dict:
        _default_bus(call.params)
        limit = call.params.get("Limit", 100)
        with self.db.read() as conn:
            rows = event_rules.listing(conn, call.region, "rule", call.params.get("NamePrefix", ""),
                                       call.params.get("NextToken"), limit + 1)
        token = rows[limit - 1]["name"] if len(rows) > limit else None
        return {"Rules": [row["spec"] for row in rows[:limit]], "NextToken": token}

    def delete_rule(self, call: Call) -> None:
        with self.db.transaction() as conn:
            rule = event_rules.get(conn, call.region, "rule", call.params["Name"])
            if rule is None:
                return  # DeleteRule of an absent rule succeeds, as in EventBridge
            targets = self._targets(conn, call.region, rule["name"])
            if targets and not call.params.get("Force"):
                raise DomainError("Rule can't be deleted since it has targets.")
            for target in targets:
                event_rules.remove(conn, target["arn"])
            event_rules.remove(conn, rule["arn"])

    def enable_rule(self, call: Call) -> None:
        self._set_state(call, "ENABLED")

    def disable_rule(self, call: Call) -> None:
        self._set_state(call, "DISABLED")

    def _set_state(self, call: Call, state: str) -> None:
        with self.db.transaction() as conn:
            rule = self._rule(conn, call, call.params["Name"])
            event_rules.put(conn, rule["arn"], call.region, "rule", rule["name"], {**rule["spec"], "State": state},
                            self.clock.now())

    def _rule(self, conn, call: Call, name: str) -> dict:
        _default_bus(call.params)
        rule = event_rules.get(conn, call.region, "rule", name)
        if rule is None:
            raise NotFound(f"Rule {name} does not exist on EventBus default.")
        return rule

    # --- targets ------------------------------------------------------------------------------
    def put_targets(self, call: Call) -> dict:
        failed = []
        with self.db.transaction() as conn:
            rule = self._rule(conn, call, call.params["Rule"])
            for target in call.params["Targets"]:
                problem = self._target_problem(conn, target)
                if problem:
                    failed.append({"TargetId": target["Id"], "ErrorCode": "ValidationException", "ErrorMessage": problem})
                    continue
                spec = {**target, "RuleArn": rule["arn"]}
                event_rules.put(conn, f"{rule['arn']}|{target['Id']}", call.region, "target",
                                f"{rule['name']}|{target['Id']}", spec, self.clock.now())
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def _target_problem(self, conn, target: dict) -> str | None:
        kind = kind_of(target["Arn"])
        if kind is None:
            return ("Reachout delivers to API destinations (HTTP), CloudWatch Logs log groups (JSONL files) and "
                    f"Kinesis streams (Redis streams); {target['Arn']} is none of them")
        if kind == "api-destination" and event_rules.get_by_arn(conn, target["Arn"]) is None:
            return f"API destination {target['Arn']} does not exist"
        if sum(k in target for k in ("Input", "InputPath", "InputTransformer")) > 1:
            return "Only one of Input, InputPath, or InputTransformer may be specified"
        return target_problem(target, self.data_dir)

    def remove_targets(self, call: Call) -> dict:
        failed = []
        with self.db.transaction() as conn:
            rule = self._rule(conn, call, call.params["Rule"])
            for target_id in call.params["Ids"]:
                if not event_rules.remove(conn, f"{rule['arn']}|{target_id}"):
                    failed.append({"TargetId": target_id, "ErrorCode": "ResourceNotFoundException",
                                   "ErrorMessage": f"Target {target_id} does not exist on rule {rule['name']}"})
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def list_targets_by_rule(self, call: Call) -> dict:
        with self.db.read() as conn:
            rule = self._rule(conn, call, call.params["Rule"])
            targets = self._targets(conn, call.region, rule["name"])
        return {"Targets": [{k: v for k, v in t["spec"].items() if k != "RuleArn"} for t in targets]}

    @staticmethod
    def _targets(conn, region: str, rule_name: str) -> list[dict]:
        return event_rules.listing(conn, region, "target", prefix=f"{rule_name}|")

    # --- patterns and events ----------------------------------------------------------------
    def test_event_pattern(self, call: Call) -> dict:
        _pattern(call.params["EventPattern"])
        try:
            event = read_json(call.params["Event"])
        except ValueError:
            event = None
        if not isinstance(event, dict) or any(key not in event for key in ENVELOPE):
            raise DomainError("Parameter Event is not valid.")
        return {"Result": matches(call.params["EventPattern"], event)}

    def put_events(self, call: Call) -> dict:
        now = self.clock.now()
        results, accepted = [], []
        for entry in call.params["Entries"]:
            problem = _entry_problem(entry)
            if problem:
                results.append({"ErrorCode": "InvalidArgument", "ErrorMessage": problem})
                continue
            event_id = str(uuid.uuid4())
            event = {"version": "0", "id": event_id, "detail-type": entry["DetailType"], "source": entry["Source"],
                     "account": call.account_id, "time": (entry.get("Time") or now).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "region": call.region, "resources": entry.get("Resources", []),
                     "detail": json.loads(entry["Detail"])}
            accepted.append((event_id, event))
            results.append({"EventId": event_id})
        with self.db.transaction() as conn:
            outbox.emit(conn, accepted, now)
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}

    # --- connections and API destinations ----------------------------------------------------
    def create_connection(self, call: Call) -> dict:
        p, now = call.params, self.clock.now()
        problem = connection_problem(p.get("AuthParameters") or {})
        if problem:
            raise DomainError(problem)
        arn = f"arn:aws:events:{call.region}:{call.account_id}:connection/{p['Name']}/{uuid.uuid4()}"
        spec = {**p, "ConnectionArn": arn, "ConnectionState": "AUTHORIZED", "CreationTime": now.isoformat()}
        with self.db.transaction() as conn:
            if event_rules.get(conn, call.region, "connection", p["Name"]):
                raise AwsError("ResourceAlreadyExistsException", f"Connection {p['Name']} already exists.")
            event_rules.put(conn, arn, call.region, "connection", p["Name"], spec, now)
        return {"ConnectionArn": arn, "ConnectionState": "AUTHORIZED", "CreationTime": now, "LastModifiedTime": now}

    def describe_connection(self, call: Call) -> dict:
        with self.db.read() as conn:
            spec = self._named(conn, call, "connection")["spec"]
        view = {k: v for k, v in spec.items() if k not in ("AuthParameters", "CreationTime")}
        return {**view, "CreationTime": self.clock.now()}  # secrets never leave the server

    def delete_connection(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            found = self._named(conn, call, "connection")
            event_rules.remove(conn, found["arn"])
        return {"ConnectionArn": found["arn"], "ConnectionState": "DELETING"}

    def create_api_destination(self, call: Call) -> dict:
        p, now = call.params, self.clock.now()
        arn = f"arn:aws:events:{call.region}:{call.account_id}:api-destination/{p['Name']}/{uuid.uuid4()}"
        with self.db.transaction() as conn:
            if event_rules.get(conn, call.region, "api-destination", p["Name"]):
                raise AwsError("ResourceAlreadyExistsException", f"An api-destination '{p['Name']}' already exists.")
            if event_rules.get_by_arn(conn, p["ConnectionArn"]) is None:
                raise NotFound(f"Connection {p['ConnectionArn']} does not exist.")
            event_rules.put(conn, arn, call.region, "api-destination", p["Name"],
                            {**p, "ApiDestinationArn": arn, "ApiDestinationState": "ACTIVE"}, now)
        return {"ApiDestinationArn": arn, "ApiDestinationState": "ACTIVE", "CreationTime": now, "LastModifiedTime": now}

    def describe_api_destination(self, call: Call) -> dict:
        with self.db.read() as conn:
            return self._named(conn, call, "api-destination")["spec"]

    def delete_api_destination(self, call: Call) -> None:
        with self.db.transaction() as conn:
            event_rules.remove(conn, self._named(conn, call, "api-destination")["arn"])

    @staticmethod
    def _named(conn, call: Call, kind: str) -> dict:
        found = event_rules.get(conn, call.region, kind, call.params["Name"])
        if found is None:
            raise NotFound(f"Failed to describe the {kind}(s). {kind.capitalize()} '{call.params['Name']}' does not exist.")
        return found


def _default_bus(params: dict) -> None:
    bus = params.get("EventBusName", BUS)
    if bus != BUS and not bus.endswith(":event-bus/default"):
        raise NotFound(f"Event bus {bus} does not exist.")


def _pattern(text: str) -> None:
    try:
        validate(text)
    except InvalidEventPattern as error:
        raise AwsError("InvalidEventPatternException", str(error)) from None


def _entry_problem(entry: dict) -> str | None:
    for field in ("Source", "DetailType", "Detail"):
        if not entry.get(field):
            return f"Parameter {field} is not valid. Reason: {field} is a required argument."
    try:
        detail = read_json(entry["Detail"])  # depth-bounded: Detail is JSON from the client
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return "Detail is malformed."
    return None
