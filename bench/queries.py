"""Count the SQL queries of one checkout flow, in process (Django test client), per endpoint.

Run by ``bench/run.py`` as ``python bench/queries.py`` with the benchmark's environment and
the secret key on stdin; prints one JSON object ``{label: queries}``. The flow runs twice and
the second run is reported, so one-off work (first connection, caches) is not counted.

``python bench/queries.py --bridge`` (the secret key, then a JSON line with the bridge's
``client_id`` and ``secret`` on stdin) does the same for the two flows of the bridge
comparison and prints ``{"rest": {label: queries}, "bridge": {action: queries},
"per_flow": {...}, "bridge_extra": {action: [statements]}, "rest_extra": {...},
"in_process_ms": {...}}``: ``bridge_extra`` lists the statements a bridge action ran that its
REST equivalent did not (literals stripped; ``rest_extra`` the converse), and
``in_process_ms`` the mean time per request of each flow through the test client (no HTTP,
no gunicorn; ``BRIDGE_TIMING_FLOWS`` flows each, alternating), i.e. the server-side cost.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import flow  # noqa: E402


def run_flow(client: Client) -> dict[str, int]:
    counts: dict[str, int] = {}

    def send(step: flow.Step):
        with CaptureQueriesContext(connection) as captured:
            response = client.generic(
                step.method, step.path,
                data=json.dumps(step.body) if step.body is not None else "",
                content_type="application/json",
            )
        if response.status_code != step.expect:
            raise SystemExit(f"{step.label}: HTTP {response.status_code}: "
                             f"{response.content[:2000]!r}")
        # lines.add runs three times in a flow: report the largest.
        counts[step.label] = max(counts.get(step.label, 0), len(captured))
        return response

    cart_id = send(flow.create_step()).json()["id"]
    for step in flow.flow_steps(cart_id):
        send(step)
    bare = Client()
    with CaptureQueriesContext(connection) as captured:
        bare.get("/bench/bare")
    counts["bare"] = len(captured)
    return counts


BRIDGE_TIMING_FLOWS = 15
LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def shape(sql: str) -> str:
    """A statement without its literals, cut short: comparable across requests."""
    text = SAVEPOINT.sub("<sp>", LITERAL.sub("?", sql))
    return text if len(text) <= 160 else text[:157] + "..."


def send_captured(client: Client, step: flow.Step, headers: dict | None = None,
                  body: bytes | None = None):
    if body is None:
        body = json.dumps(step.body).encode() if step.body is not None else b""
    with CaptureQueriesContext(connection) as captured:
        response = client.generic(step.method, step.path, data=body,
                                  content_type="application/json", **(headers or {}))
    if response.status_code != step.expect:
        raise SystemExit(f"{step.label}: HTTP {response.status_code}: "
                         f"{response.content[:2000]!r}")
    return response, [q["sql"] for q in captured.captured_queries]


def rest_same_flow(client: Client) -> dict[str, list[str]]:
    statements: dict[str, list[str]] = {}
    response, sql = send_captured(client, flow.plain_create_step())
    statements["cart.create"] = sql
    for step in flow.rest_same_steps(response.json()["id"]):
        _, sql = send_captured(client, step)
        statements[step.label] = sql  # lines.add: the third (all three add a new line)
    return statements


def bridge_flow(client: Client, client_id: str, secret: str) -> dict[str, list[str]]:
    statements: dict[str, list[str]] = {}

    def send(step: flow.Step):
        body, headers = flow.signed_request(client_id, secret, step)
        meta = {"HTTP_" + name.upper().replace("-", "_"): value
                for name, value in headers.items()}
        response, statements[step.label] = send_captured(client, step, meta, body)
        return response

    cart_id = send(flow.bridge_create_step(client_id)).json()["cart_id"]
    for step in flow.bridge_steps(client_id, cart_id):
        send(step)
    return statements


def bridge_main(key: str, bridge: dict) -> None:
    rest_client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    bridge_client = Client()
    client_id, secret = bridge["client_id"], bridge["secret"]
    rest_same_flow(rest_client)
    bridge_flow(bridge_client, client_id, secret)
    rest = rest_same_flow(rest_client)
    signed = bridge_flow(bridge_client, client_id, secret)
    extra, missing = {}, {}
    for action, sql in signed.items():
        bridge_shapes = Counter(map(shape, sql))
        rest_shapes = Counter(map(shape, rest[flow.REST_EQUIVALENT[action]]))
        extra[action] = sorted((bridge_shapes - rest_shapes).elements())
        missing[action] = sorted((rest_shapes - bridge_shapes).elements())
    per_flow = {
        "rest": sum(len(sql) * (len(flow.SKUS) if label == "lines.add" else 1)
                    for label, sql in rest.items()),
        "bridge": sum(len(sql) * (len(flow.SKUS) if action == "items.add" else 1)
                      for action, sql in signed.items()),
    }
    elapsed = {"rest": 0.0, "bridge": 0.0}
    for _ in range(BRIDGE_TIMING_FLOWS):
        started = time.perf_counter()
        rest_same_flow(rest_client)
        elapsed["rest"] += time.perf_counter() - started
        started = time.perf_counter()
        bridge_flow(bridge_client, client_id, secret)
        elapsed["bridge"] += time.perf_counter() - started
    requests = BRIDGE_TIMING_FLOWS * (len(flow.rest_same_steps("x")) + 1)
    in_process = {name: round(value * 1000 / requests, 2) for name, value in elapsed.items()}
    in_process["flows_each"] = BRIDGE_TIMING_FLOWS
    print(json.dumps({"rest": {label: len(sql) for label, sql in rest.items()},
                      "bridge": {action: len(sql) for action, sql in signed.items()},
                      "per_flow": per_flow, "bridge_extra": extra, "rest_extra": missing,
                      "in_process_ms": in_process}, sort_keys=True))


def main() -> None:
    key = sys.stdin.readline().strip()
    if "--bridge" in sys.argv[1:]:
        bridge_main(key, json.loads(sys.stdin.readline()))
        return
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    run_flow(client)
    print(json.dumps(run_flow(client), sort_keys=True))


if __name__ == "__main__":
    main()
