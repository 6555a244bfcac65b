"""The agent's side of agent-assisted calls over HTTP, under /_reachout/agents/ (behind the same gate
as Reachout's other own endpoints: admin_gate.py). JSON in, JSON out; every answer is the agent's
view (engine/agent_desk.AgentDesk.view): status, activity, and the contact offered or handled.

    GET  /_reachout/agents/{instanceId}/{userId}                 the agent's view (poll it for offers)
    POST /_reachout/agents/{instanceId}/{userId}/status          {"status": "Available" | "Offline"}
    POST /_reachout/agents/{instanceId}/{userId}/accept          {"contactId": ...}  preview: dial it
    POST /_reachout/agents/{instanceId}/{userId}/discard         {"contactId": ...}  preview: DISCARD
    POST /_reachout/agents/{instanceId}/{userId}/end-call        hang up: after-contact work begins
    POST /_reachout/agents/{instanceId}/{userId}/disposition     {"disposition": "CALLBACK" | ...}
    POST /_reachout/agents/{instanceId}/{userId}/leave-acw       after-contact work done: idle again
    POST /_reachout/agents/simulation                             start a simulated agent pool
    GET  /_reachout/agents/simulation                             what the simulated pools did

Errors: 400 a malformed or invalid request, 404 no such user, 409 not possible in the agent's
current activity; each with {"message": ...}.
"""
from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reachout.channels.simulated_agents import Lognormal, SimulatedAgents
from reachout.domain.errors import Conflict, DomainError, InvalidState, NotFound


def agent_routes(engine, clock) -> list[Route]:
    desk = engine.agent_desk

    async def call(request: Request, action: str, *fields: str) -> JSONResponse:
        instance_id, user_id = request.path_params["instance_id"], request.path_params["user_id"]
        try:
            body = json.loads(await request.body() or b"{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise ValueError
            args = [body[name] for name in fields]
        except (ValueError, KeyError):
            wanted = ", ".join(f'"{name}"' for name in fields)
            return _problem(400, f"send a JSON object with {wanted}" if fields else "send a JSON object or nothing")
        if any(not isinstance(arg, str) for arg in args):
            return _problem(400, f"{', '.join(fields)} must be strings")
        try:
            view = await run_in_threadpool(getattr(desk, action), instance_id, user_id, *args, clock.now())
        except NotFound as error:
            return _problem(404, error.message)
        except (Conflict, InvalidState) as error:
            return _problem(409, error.message)
        except DomainError as error:
            return _problem(400, error.message)
        return JSONResponse(view)

    async def view(request: Request) -> JSONResponse:
        return await call(request, "view")

    async def status(request: Request) -> JSONResponse:
        try:
            wanted = json.loads(await request.body() or b"{}").get("status")
        except (ValueError, AttributeError):
            wanted = None
        action = {"Available": "go_available", "Offline": "go_offline"}.get(wanted)
        if action is None:
            return _problem(400, 'send {"status": "Available"} or {"status": "Offline"}')
        return await call(request, action)

    async def accept(request: Request) -> JSONResponse:
        return await call(request, "accept", "contactId")

    async def discard(request: Request) -> JSONResponse:
        return await call(request, "discard", "contactId")

    async def end_call(request: Request) -> JSONResponse:
        return await call(request, "end_call")

    async def disposition(request: Request) -> JSONResponse:
        return await call(request, "set_disposition", "disposition")

    async def leave_acw(request: Request) -> JSONResponse:
        return await call(request, "leave_acw")

    async def simulation(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"pools": [{"instanceId": pool.instance_id, "userIds": list(pool.user_ids),
                                            "log": [[at.isoformat(), user, action, contact]
                                                    for at, user, action, contact in pool.log]}
                                           for pool in engine.dialer.pools]})
        try:
            pool = _pool(json.loads(await request.body() or b"{}"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return _problem(400, 'send {"instanceId": ..., "userIds": [...], "seed": 0, "talkSeconds": '
                                 '{"mean": 120, "cv": 0.5}, "acwSeconds": {"mean": 20, "cv": 0.5}, '
                                 '"dispositions": {"RESOLVED": 1}, "discardShare": 0}')
        engine.dialer.pools.append(pool)
        return JSONResponse({"instanceId": pool.instance_id, "userIds": list(pool.user_ids)})

    base = "/_reachout/agents/{instance_id}/{user_id}"
    return [
        Route("/_reachout/agents/simulation", simulation, methods=["GET", "POST"]),
        Route(base, view),
        Route(base + "/status", status, methods=["POST"]),
        Route(base + "/accept", accept, methods=["POST"]),
        Route(base + "/discard", discard, methods=["POST"]),
        Route(base + "/end-call", end_call, methods=["POST"]),
        Route(base + "/disposition", disposition, methods=["POST"]),
        Route(base + "/leave-acw", leave_acw, methods=["POST"]),
    ]


def _pool(body: dict) -> SimulatedAgents:
    def lognormal(name: str, default: Lognormal) -> Lognormal:
        given = body.get(name)
        if given is None:
            return default
        result = Lognormal(float(given["mean"]), float(given["cv"]))
        if result.mean <= 0 or result.cv <= 0:
            raise ValueError
        return result

    users = body["userIds"]
    if not isinstance(users, list) or not users or not all(isinstance(u, str) for u in users):
        raise ValueError
    dispositions = tuple((str(code), float(weight)) for code, weight in
                         (body.get("dispositions") or {"RESOLVED": 1.0}).items())
    return SimulatedAgents(str(body["instanceId"]), tuple(users), int(body.get("seed", 0)),
                           lognormal("talkSeconds", SimulatedAgents.talk), lognormal("acwSeconds", SimulatedAgents.acw),
                           dispositions, float(body.get("discardShare", 0.0)))


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)
