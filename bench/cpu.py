"""Where the CPU goes during a phase, from /proc (Linux only; empty elsewhere).

* ``server``: the gunicorn master and its workers;
* ``postgres``: every PostgreSQL server process on this machine, including the backends that
  ended during the phase (each request opens its own connection unless CONN_MAX_AGE is set):
  they are counted through their postmaster's ``cutime``/``cstime``;
* ``loadgen``: this process, the load generator (and, for pgbench, the pgbench client);
* ``other``: the rest of the machine's busy time (kernel threads, Redis, …), with the part
  spent in interrupts (loopback networking) and stolen by the hypervisor shown separately.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def read_stat(pid: int | str) -> tuple[str, list[str]] | None:
    """``(comm, fields after comm)`` of a process, None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()


def own_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def reaped_children_seconds(fields: list[str]) -> float:
    return (int(fields[13]) + int(fields[14])) / TICK  # cutime + cstime


def all_processes() -> dict[int, tuple[str, list[str]]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = read_stat(entry.name)
            if stat:
                found[int(entry.name)] = stat
    return found


def machine_seconds() -> tuple[float, float, float]:
    """Machine-wide busy, interrupt (irq + softirq) and steal seconds since boot."""
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:9]]
    # user nice system idle iowait irq softirq steal
    return (sum(v) - v[3] - v[4]) / TICK, (v[5] + v[6]) / TICK, v[7] / TICK


@dataclass
class Snapshot:
    server: dict[int, float]
    server_reaped: float
    postgres: dict[int, float]
    postgres_reaped: float
    client: float
    machine: tuple[float, float, float]


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two snapshots by a group whose exited members are counted in the
    reaped total (so a process gone since ``before`` contributes through that)."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after) - sum(
        value for pid, value in before.items() if pid not in after)


class CpuMeter:
    def __init__(self, server_pid: int | None = None):
        self.server_pid = server_pid
        self.cores = os.cpu_count() or 1
        self.available = Path("/proc/stat").exists()

    def snapshot(self) -> Snapshot | None:
        if not self.available:
            return None
        procs = all_processes()
        server = {pid: own_seconds(f) for pid, (_, f) in procs.items()
                  if self.server_pid and self.server_pid in (pid, int(f[1]))}
        master = procs.get(self.server_pid) if self.server_pid else None
        postgres = {pid: own_seconds(f) for pid, (comm, f) in procs.items() if comm == "postgres"}
        postmasters = [f for pid, (comm, f) in procs.items()
                       if comm == "postgres" and procs.get(int(f[1]), ("",))[0] != "postgres"]
        times = os.times()
        return Snapshot(
            server=server,
            server_reaped=reaped_children_seconds(master[1]) if master else 0.0,
            postgres=postgres,
            postgres_reaped=sum(reaped_children_seconds(f) for f in postmasters),
            # children: commands run to completion meanwhile (pgbench), none during HTTP load
            client=times.user + times.system + times.children_user + times.children_system,
            machine=machine_seconds(),
        )

    def report(self, before: Snapshot | None, elapsed: float) -> dict[str, float]:
        after = self.snapshot()
        if before is None or after is None or elapsed <= 0:
            return {}
        server = (_delta(before.server, after.server)
                  + after.server_reaped - before.server_reaped)
        postgres = (_delta(before.postgres, after.postgres)
                    + after.postgres_reaped - before.postgres_reaped)
        client = after.client - before.client
        busy, interrupts, steal = (a - b for a, b in zip(after.machine, before.machine,
                                                         strict=True))
        other = max(0.0, busy - server - postgres - client)
        return {
            "server_cores": round(server / elapsed, 2),
            "postgres_cores": round(postgres / elapsed, 2),
            "loadgen_cores": round(client / elapsed, 2),
            "other_cores": round(other / elapsed, 2),
            "of_which_interrupts_cores": round(interrupts / elapsed, 2),
            "of_which_steal_cores": round(steal / elapsed, 2),
            "machine_busy_pct": round(100 * busy / (elapsed * self.cores), 1),
        }
