"""The benchmark's report: the budgets, the ratios against them, the per-phase and CPU
summaries, the warnings about a noisy machine, and the JSON line (stdout and
``bench/results/latest.json``). See ``bench/run.py`` for the method.
"""

from __future__ import annotations

import json
import os

from bench import flow
from bench.loadgen import PhaseResult
from bench.server import ROOT, WORKERS, log

RESULTS = ROOT / "bench" / "results" / "latest.json"

BUDGETS = {
    "flows_vs_pgbench": 0.02,
    "cart_get_vs_bare": 0.20,
    "lines_add_vs_bare": 0.10,
    "checkout_vs_bare": 0.04,
}
BRIDGE_OVERHEAD_BUDGET = 0.15  # the bridge flow's requests/s ≥ (1 - this) × the REST flow's
DELIVERY_RATIO_BUDGET = 0.25   # worker deliveries/s ≥ this × the plain client loop's posts/s
DELIVERY_P99_BUDGET_MS = 1000  # at half that rate: p99 of committed event → receiver's POST
BUSY_MACHINE_CORES = 0.25      # "other" CPU above this during a phase: other work interfered
PAIR_SPREAD = 0.05             # bridge comparison: pairs' ratios further apart than this: noisy
PGBENCH_SPREAD = 0.15          # the two pgbench runs further apart than this (of their mean): noisy


# -- warnings -----------------------------------------------------------------------------------

def check_interference(name: str, cpu: dict, warnings: list[str]) -> None:
    """Warn when CPU went to something other than the server, PostgreSQL and the load
    generator: another program competed for the cores and the numbers are pessimistic."""
    if cpu.get("other_cores", 0.0) > BUSY_MACHINE_CORES:
        message = (f"phase {name}: {cpu['other_cores']} cores busy with other work "
                   "(another process on the machine?); the results are pessimistic")
        warnings.append(message)
        log(message)


def check_pair_spread(pairs: list[dict], warnings: list[str]) -> None:
    """Warn when the two rest/bridge pairs disagree: the machine's load changed between
    phases, and the ratio is less certain than its digits suggest."""
    ratios = [pair["ratio"] for pair in pairs if pair["ratio"] is not None]
    if len(ratios) > 1 and max(ratios) - min(ratios) > PAIR_SPREAD:
        message = (f"bridge comparison: the pairs' ratios {ratios} differ by more than "
                   f"{PAIR_SPREAD}: noisy, rerun with longer --seconds or on a quieter machine")
        warnings.append(message)
        log(message)


# -- floors -------------------------------------------------------------------------------------

def pgbench_floor(runs: list[dict], seconds: int, warnings: list[str]) -> dict:
    """The database floor: the mean of the runs around the flow, each one kept."""
    for number, result in enumerate(runs, start=1):
        check_interference(f"pgbench {number}", result["cpu_cores"], warnings)
    values = [result["tps"] for result in runs]
    tps = sum(values) / len(values)
    spread = (max(values) - min(values)) / tps if tps else 0.0
    if spread > PGBENCH_SPREAD:
        message = (f"pgbench runs disagree by {spread:.0%} ({', '.join(map(str, values))} "
                   "tps): the machine's speed changed during the run")
        warnings.append(message)
        log(message)
    latencies = [r["latency_avg_ms"] for r in runs if r["latency_avg_ms"] is not None]
    return {"tps": round(tps, 2),
            "latency_avg_ms": round(sum(latencies) / len(latencies), 3) if latencies else None,
            "clients": 4, "threads": 2, "seconds": seconds, "scale": 10,
            "runs": runs, "spread": round(spread, 4)}


# -- the report ---------------------------------------------------------------------------------

def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def rps(result: PhaseResult) -> float:
    """Successful requests per second of a phase."""
    return round(result.total_ok() / result.elapsed, 2) if result.elapsed else 0.0


def flow_summary(result: PhaseResult) -> dict:
    flows = result.recorder.counters["flows"]
    endpoints = result.endpoint_stats()
    for stats in endpoints.values():
        stats.pop("rps")  # the endpoints share the clients: no isolated rate
    return {"rps": rps(result),
            "flows_per_s": round(flows / result.elapsed, 2) if result.elapsed else 0.0,
            "flows": flows, "requests": result.total_ok(), "errors": result.total_errors(),
            "elapsed_s": round(result.elapsed, 2), "phases": result.rounds,
            "endpoints": endpoints}


def bridge_report(args, rest: PhaseResult, bridge: PhaseResult, pairs: list[dict],
                  queries: dict | None) -> dict:
    """The ``bridge`` section: the signed flow against the same flow over REST with a key."""
    rest_side, bridge_side = flow_summary(rest), flow_summary(bridge)
    bridge_side["actions"] = bridge_side.pop("endpoints")
    value = ratio(bridge_side["rps"], rest_side["rps"])
    overhead = None if value is None else round(1 - value, 4)
    return {
        "rest_flow": rest_side,
        "bridge_flow": bridge_side,
        "ratio": value,
        "overhead": overhead,
        "budget": BRIDGE_OVERHEAD_BUDGET,
        "pass": overhead is not None and overhead <= BRIDGE_OVERHEAD_BUDGET,
        "flows_ratio": ratio(bridge_side["flows_per_s"], rest_side["flows_per_s"]),
        "pairs": pairs,
        "order": "rest, bridge, bridge, rest",
        "seconds_per_phase": args.seconds,
        "replay_guard": "redis" if os.environ.get("REDIS_URL") else "database",
        "cost": bridge_cost(queries),
    }


def bridge_cost(queries: dict | None) -> dict | None:
    """What the bridge costs over REST, from ``queries.py --bridge``: queries per request
    side by side, the statements only one side ran (each with the actions it ran in) and
    the in-process time per request of each flow."""
    if not queries:
        return None

    def grouped(per_action: dict[str, list[str]]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for action, statements in per_action.items():
            for statement in statements:
                short = statement if len(statement) <= 100 else statement[:97] + "..."
                if action not in found.setdefault(short, []):
                    found[short].append(action)
        return found

    return {
        "queries_per_request": {
            action: {"bridge": count, "rest": queries["rest"].get(flow.REST_EQUIVALENT[action])}
            for action, count in queries["bridge"].items()},
        "queries_per_flow": queries["per_flow"],
        "bridge_only_statements": grouped(queries["bridge_extra"]),
        "rest_only_statements": grouped(queries["rest_extra"]),
        "in_process_ms_per_request": queries["in_process_ms"],
    }


def phase_summary(result: PhaseResult) -> dict:
    """Elapsed time, requests, and the CPU per phase: cores busy, and CPU milliseconds per
    successful request for each of server, PostgreSQL, load generator and the rest."""
    requests = result.total_ok()
    per_request = {
        name.removesuffix("_cores"): round(cores * result.elapsed * 1000 / requests, 2)
        for name, cores in result.cpu.items()
        if name.endswith("_cores") and not name.startswith("of_which")
    } if requests else {}
    return {"elapsed_s": round(result.elapsed, 2), "rounds": result.rounds, "requests": requests,
            "errors": result.total_errors(), "cpu_cores": result.cpu,
            "cpu_ms_per_request": per_request}


def build_report(args, flow_result, bare, isolated, pgbench, queries, warnings,
                 bridge: dict | None = None, bridge_phases: list[PhaseResult] = ()) -> dict:
    flows = flow_result.recorder.counters["flows"]
    flows_per_s = round(flows / flow_result.elapsed, 2)
    bare_rps = round(bare.count("bare") / bare.elapsed, 2)
    iso = {label: result.stats(label) for label, result in isolated.items()}
    ratios = {
        "flows_vs_pgbench": ratio(flows_per_s, pgbench["tps"]),
        "cart_get_vs_bare": ratio(iso["cart.get"]["rps"], bare_rps),
        "lines_add_vs_bare": ratio(iso["lines.add"]["rps"], bare_rps),
        "checkout_vs_bare": ratio(iso["checkout"]["rps"], bare_rps),
    }
    endpoints = flow_result.endpoint_stats()
    for stats in endpoints.values():
        stats.pop("rps")  # in the flow the endpoints share the clients: no isolated rate
    phases = {r.name: phase_summary(r)
              for r in [bare, flow_result, *isolated.values(), *bridge_phases]}
    budgets = dict(BUDGETS)
    passed = {name: (value is not None and value >= BUDGETS[name])
              for name, value in ratios.items()}
    if bridge is not None:
        ratios["bridge_vs_rest_flow"] = bridge["ratio"]
        budgets["bridge_vs_rest_flow"] = round(1 - BRIDGE_OVERHEAD_BUDGET, 4)
        passed["bridge_vs_rest_flow"] = bridge["pass"]
    report = {
        "mode": args.mode,
        "flows_per_s": flows_per_s,
        "flows": flows,
        "flow_errors": flow_result.total_errors(),
        "clients": args.clients,
        "seconds": args.seconds,
        "endpoints": endpoints,
        "isolated": iso,
        "floors": {"bare_view_rps": bare_rps, "bare_view": bare.stats("bare"),
                   "pgbench_tps": pgbench["tps"], "pgbench": pgbench},
        "ratios": ratios,
        "budgets": budgets,
        "pass": passed,
        "queries_per_request": queries,
        "phases": phases,
        "server": server_summary(args),
        "warnings": warnings,
    }
    if bridge is not None:
        report["bridge"] = bridge
    return report


def build_bridge_only_report(args, bridge: dict, bridge_phases: list[PhaseResult],
                             warnings) -> dict:
    """``--mode bridge``: the comparison alone (no floors, no checkout budgets)."""
    return {
        "mode": args.mode,
        "clients": args.clients,
        "seconds": args.seconds,
        "ratios": {"bridge_vs_rest_flow": bridge["ratio"]},
        "budgets": {"bridge_vs_rest_flow": round(1 - BRIDGE_OVERHEAD_BUDGET, 4)},
        "pass": {"bridge_vs_rest_flow": bridge["pass"]},
        "bridge": bridge,
        "phases": {r.name: phase_summary(r) for r in bridge_phases},
        "server": server_summary(args),
        "warnings": warnings,
    }


def add_delivery(report: dict, delivery: dict) -> dict:
    """The delivery budgets beside the others: ``ratios``, ``budgets``, ``pass``."""
    report.setdefault("ratios", {})["delivery_vs_client_loop"] = delivery["ratio"]
    report["ratios"]["delivery_p99_ms"] = delivery["p99_ms"]
    report.setdefault("budgets", {})["delivery_vs_client_loop"] = DELIVERY_RATIO_BUDGET
    report["budgets"]["delivery_p99_ms"] = DELIVERY_P99_BUDGET_MS
    report.setdefault("pass", {})["delivery_vs_client_loop"] = delivery["pass"]["ratio"]
    report["pass"]["delivery_p99_ms"] = delivery["pass"]["p99"]
    report["delivery"] = delivery
    return report


def server_summary(args) -> dict:
    return {"gunicorn_workers": WORKERS, "worker_class": "sync", "settings": args.settings,
            "cpu_cores": os.cpu_count(), "redis_cache": bool(os.environ.get("REDIS_URL"))}


def finish(report: dict) -> int:
    """Print the report's JSON line and keep it in bench/results/latest.json."""
    line = json.dumps(report, separators=(",", ":"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")
    print(line, flush=True)
    return 0
