"""The worker of `make run`'s Procfile starts on Redis with only the base dependencies.

`pip install -e .` (what `make run` does) once lacked ``packaging``, which kombu's Redis
transport imports: with ``CELERY_BROKER_URL=redis://…`` the worker crashed at start while the
test extras (which pull ``packaging`` in) hid it in CI. Two checks: the base requirements
carry the Redis transport's dependencies, and the Procfile's ``worker`` line, started by
honcho as `make run` starts it, reports ready on a private redis-server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.e2e.conftest import ROOT, PrivateRedis, unavailable, wait_until

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def base_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in requires("orderflow") or []]
    return {req.name.lower(): req for req in reqs if req.marker is None}


def test_base_dependencies_carry_the_redis_transport():
    base = base_requirements()
    assert "redis" in base["celery"].extras, "celery[redis]: kombu's Redis transport extras"
    assert str(base["packaging"].specifier).startswith("=="), "packaging pinned exactly"
    # kombu[redis] pins the packaging it wants: the base pin must be that one.
    kombu_wants = [Requirement(r) for r in requires("kombu") or []
                   if r.startswith("packaging") and "redis" in r]
    for wanted in kombu_wants:
        assert base["packaging"].specifier == wanted.specifier


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed: this test starts its own")
    server = PrivateRedis(binary, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


def test_procfile_worker_is_ready_on_redis(redis_server, tmp_path):
    procfile = (ROOT / "Procfile").read_text()
    assert re.search(r"^worker: python -m celery -A orderflow worker", procfile, re.M)
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", CELERY_BROKER_URL=redis_server.url,
               ORDERFLOW_VAR_DIR=str(tmp_path / "var"), WORKER_CONCURRENCY="1",
               PYTHONUNBUFFERED="1")
    log_path = tmp_path / "honcho.log"
    with open(log_path, "w") as log:
        # What `make run` runs, limited to the worker process.
        proc = subprocess.Popen([str(BIN / "honcho"), "-f", "Procfile", "start", "worker"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            def ready():
                text = log_path.read_text(errors="replace")
                assert proc.poll() is None, f"honcho exited:\n{text[-4000:]}"
                assert "Traceback" not in text, text[-4000:]
                return "ready." in text and text

            output = wait_until(ready, timeout=90, what="the Procfile worker to be ready",
                                describe=lambda: log_path.read_text(errors="replace")[-4000:])
            # On Redis indeed (celery masks the empty password as ``:**@``).
            assert re.search(rf"Connected to redis://\S*127\.0\.0\.1:{redis_server.port}/0",
                             output), output[-4000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
