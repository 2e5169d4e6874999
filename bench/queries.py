"""Count the SQL queries of one checkout flow, in process (Django test client), per endpoint.

Run by ``bench/run.py`` as ``python bench/queries.py`` with the benchmark's environment and
the secret key on stdin; prints one JSON object ``{label: queries}``. The flow runs twice and
the second run is reported, so one-off work (first connection, caches) is not counted.
"""

from __future__ import annotations

import json
import os
import sys
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


def main() -> None:
    key = sys.stdin.readline().strip()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    run_flow(client)
    print(json.dumps(run_flow(client), sort_keys=True))


if __name__ == "__main__":
    main()
