"""orderflow.wsgi and gunicorn.conf.py: what a server process has done before its first
request."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, runpy, sys
conf = runpy.run_path("gunicorn.conf.py")
import orderflow.wsgi  # what the master loads with preload_app
conf["pre_fork"](None, None)  # gunicorn calls it in the master before forking each worker
print(gc.get_freeze_count(), "carts.api.views" in sys.modules, "orders.api.views" in sys.modules,
      conf["preload_app"])
"""


def test_a_server_process_loads_every_view_at_start_and_keeps_the_collector_off_them():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "orderflow.settings"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout.split()
    frozen, carts_loaded, orders_loaded, preloaded = int(out[0]), out[1], out[2], out[3]
    assert preloaded == "True"
    # The views are imported by the URLconf at start, not by the first request...
    assert (carts_loaded, orders_loaded) == ("True", "True")
    # ...and what was loaded is out of the cyclic collector's reach (tens of thousands of
    # objects: modules, models, URL patterns).
    assert frozen > 50_000
