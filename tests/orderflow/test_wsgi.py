"""orderflow.wsgi: what a server process has done before its first request."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import orderflow.wsgi
print(gc.get_freeze_count(), "carts.api.views" in sys.modules, "orders.api.views" in sys.modules)
"""


def test_a_server_process_loads_every_view_at_start_and_keeps_the_collector_off_them():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "orderflow.settings"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout.split()
    frozen, carts_loaded, orders_loaded = int(out[0]), out[1], out[2]
    # The views are imported by the URLconf at start, not by the first request...
    assert (carts_loaded, orders_loaded) == ("True", "True")
    # ...and what was loaded is out of the cyclic collector's reach (tens of thousands of
    # objects: modules, models, URL patterns).
    assert frozen > 50_000
