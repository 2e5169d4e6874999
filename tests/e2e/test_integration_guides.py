"""The two integration guides, followed word for word against a live gunicorn on PostgreSQL
(issue 19): the bridge's five steps with the bash/openssl signer of docs/bridge.md (no nonce,
no shipping step, ``cart.get`` twice in one second), and the storefront's four curls of
docs/storefront.md for a company buyer on credit terms and a B2C customer on COD. The demo
store is loaded with ``seed_demo``; only the host and the credentials are substituted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from orders.models import Order, OrderEvent
from tests.e2e.conftest import ROOT, free_port, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("jq")
                            and shutil.which("curl")),
                       reason="the guides' commands need openssl, jq and curl"),
]

DOCS = ROOT / "docs"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def sh_blocks(doc: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (DOCS / doc).read_text(), flags=re.S)


def run_bash(script: str, env: dict, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_text("set -euo pipefail\n" + script)
    result = subprocess.run(["bash", str(path)], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def http_get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.fixture
def demo(e2e_services, tmp_path):
    """The demo store in the test database, its credentials, and gunicorn serving it."""
    var = tmp_path / "var"
    with override_settings(VAR_DIR=var):
        call_command("seed_demo", "--json", stdout=open(os.devnull, "w"))
    creds = json.loads((var / "demo-credentials.json").read_text())
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    env.update(DATABASE_URL=e2e_services["database_url"],
               CELERY_BROKER_URL=e2e_services["broker_url"], ORDERFLOW_VAR_DIR=str(var),
               SECRET_KEY=settings.SECRET_KEY, DJANGO_SETTINGS_MODULE="orderflow.settings",
               PYTHONUNBUFFERED="1")
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(GUNICORN), "orderflow.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    host = f"http://127.0.0.1:{port}"
    try:
        def healthy():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            return http_get(f"{host}/healthz") == 200

        wait_until(healthy, timeout=60, what="gunicorn's /healthz", interval=0.2)
        yield {"host": host, "creds": creds, "log": log_path}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        log.close()


# --- the bridge: five steps --------------------------------------------------------------------

def test_the_bridge_guide_places_an_order(demo, tmp_path):
    bridge = demo["creds"]["bridge"]
    env = {"BASE": demo["host"], "CLIENT_ID": bridge["client_id"], "SECRET": bridge["secret"]}
    blocks = sh_blocks("bridge.md")
    out = run_bash("\n".join(blocks), env, tmp_path, "bridge-guide.sh")

    assert "nonce" not in "".join(blocks) and "shipping.select" not in "".join(blocks)
    assert "replayed" not in out  # cart.get twice
    order = Order.objects.get(connection__client_id=bridge["client_id"])
    assert order.status == "pending_payment" and order.number in out
    # 2 × 2450 + 24 × 480, GCT 15 %, standard shipping (the channel's default) 1200.
    assert '"total":"20083.00"' in out
    assert order.shipping_method.code == "standard"
    assert [line.sku for line in order.lines.all()] == ["COF-BM-250", "TEA-GIN-20"]
    placed = OrderEvent.objects.get(order=order, type="order_placed")
    assert "Shipping method defaulted to standard" in placed.message
    assert placed.parameters["contact"] == {"name": "Sasha Shopper", "phone": "876-555-0100"}


def test_the_bridge_answers_200_and_lets_reads_repeat_in_one_second(demo, tmp_path):
    bridge = demo["creds"]["bridge"]
    signer = next(block for block in sh_blocks("bridge.md") if "bridge() {" in block)
    env = {"BASE": demo["host"], "CLIENT_ID": bridge["client_id"], "SECRET": bridge["secret"],
           "NOW": str(int(time.time()))}
    # Every call signs the same second: identical requests carry identical signatures.
    script = signer + '''
date() { echo "$NOW"; }
CREATED=$(bridge cart.create '{}' -w '\\n%{http_code}')
echo "create $(echo "$CREATED" | tail -n1)"
CART_ID=$(echo "$CREATED" | head -n1 | jq -r .cart_id)
for i in 1 2; do
  echo "get $(bridge cart.get "{\\"cart_id\\": \\"$CART_ID\\"}" -o /dev/null -w '%{http_code}')"
done
ADD="{\\"cart_id\\": \\"$CART_ID\\", \\"sku\\": \\"COF-BM-250\\", \\"quantity\\": 1}"
for i in 1 2; do
  echo "add $(bridge items.add "$ADD" -o /dev/null -w '%{http_code}')"
done
'''
    out = run_bash(script, env, tmp_path, "bridge-replay.sh").split("\n")
    assert out[:5] == ["create 200", "get 200", "get 200", "add 200", "add 401"], out


# --- the storefront: four calls ----------------------------------------------------------------

def storefront_guide(demo, tmp_path, email: str) -> dict:
    """The four calls of docs/storefront.md as written, with the host, the secret key and the
    shopper's email substituted; the checkout's answer (its last line)."""
    script = sh_blocks("storefront.md")[0]
    # The checkout sends only the cart and the notes; no address, shipping or payment call.
    assert '-d "{\\"cart_id\\": \\"$CART\\", \\"notes\\": \\"Leave at front desk\\"}"' \
        in script
    assert "addresses" not in script and "shipping-method" not in script
    script = (script.replace("http://127.0.0.1:8000", demo["host"])
              .replace("of_test_sec_…", demo["creds"]["storefront"]["ecommerce_secret"])
              .replace("shopper@example.com", email))
    out = run_bash(script, {}, tmp_path, f"storefront-{email}.sh").strip().split("\n")
    return json.loads(out[-1])


def test_the_storefront_guide_for_a_company_buyer_on_terms(demo, tmp_path):
    email = demo["creds"]["customers"]["company_buyer"]
    order = storefront_guide(demo, tmp_path, email)
    assert order["status"] == "confirmed" and order["payment"] == "terms", order
    assert order["defaults"]["payment"]["detail"] == \
        "payment kind defaulted to terms from company terms NET30"
    assert order["defaults"]["shipping_method"]["value"] == "standard"
    assert order["defaults"]["shipping_address"]["source"] == "company"
    placed = OrderEvent.objects.get(order__public_id=order["id"], type="order_placed")
    assert "Payment kind defaulted to terms from company terms NET30." in placed.message
    db_order = Order.objects.get(public_id=order["id"])
    assert db_order.notes == "Leave at front desk" and db_order.company.code == "kingston-cafes"
    assert db_order.shipping_address["line1"] == "12 Knutsford Boulevard"


def test_the_storefront_guide_for_a_b2c_customer_on_cod(demo, tmp_path):
    email = demo["creds"]["customers"]["b2c"]
    order = storefront_guide(demo, tmp_path, email)
    assert order["status"] == "confirmed" and order["payment"] == "cod", order
    assert set(order["defaults"]) == {"payment", "shipping_method", "shipping_address",
                                      "billing_address"}
    placed = OrderEvent.objects.get(order__public_id=order["id"], type="order_placed")
    assert "Payment kind defaulted to cod" in placed.message
    assert Order.objects.get(public_id=order["id"]).shipping_address["line1"] == "4 Hope Road"


def test_a_publishable_key_on_checkout_is_403_whatever_it_carries(demo):
    keys = demo["creds"]["storefront"]

    def post(path, body, headers):
        request = urllib.request.Request(
            f"{demo['host']}/api/v1/{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, token = post("shopper-tokens", {"email": demo["creds"]["customers"]["b2c"]},
                         {"Authorization": f"Bearer {keys['ecommerce_secret']}"})
    assert status == 201
    for shopper in (token["token"], "not-a-token"):
        status, problem = post("checkout", {"cart_id": "cart_x"},
                               {"Authorization": f"Bearer {keys['ecommerce_publishable']}",
                                "X-Storefront-Shopper-Token": shopper})
        assert (status, problem["code"]) == (403, "secret_key_required")
