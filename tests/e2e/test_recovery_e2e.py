"""Abandoned-cart recovery with real processes (issue 22): gunicorn, a Celery worker and
Celery beat on Redis against the test database, thresholds shortened by the environment
variables docs/recovery.md documents. A cart with an e-mail goes idle; beat's scan marks it
abandoned and queues the first reminder; the worker writes it as a file under var/mail/; its
link, fetched over HTTP from gunicorn, brings the cart back; checkout over HTTP converts it;
the recovery summary (and its admin page) counts it as recovered revenue of step 1."""

from __future__ import annotations

import email
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from carts.constants import CartStatus
from carts.models import Cart
from orders.models import Order
from recovery.models import RecoveryEmail, RecoverySettings
from recovery.selectors import recovery_summary
from tests.e2e.conftest import ROOT, Worker, free_port, wait_until
from tests.storefront import ADDRESS, build_storefront

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
SHORT = {"ORDERFLOW_RECOVERY_IDLE_SECONDS": "2", "ORDERFLOW_RECOVERY_STEPS": "2,3600,7200",
         "ORDERFLOW_RECOVERY_SCAN_SECONDS": "1"}
STOREFRONT = "https://shop.example.com/cart/{cart_id}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(method: str, url: str, body=None, key: str | None = None):
    request = urllib.request.Request(url, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {key}"} if key
                                                 else {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None, {}, b""  # not listening yet


class Process:
    def __init__(self, cmd, env, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def alive(self) -> bool:
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-3000:]
        return True

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._log.close()


@pytest.fixture
def stack(e2e_services, tmp_path):
    """gunicorn, a worker and beat sharing the test database, the Redis broker, one
    SECRET_KEY (links signed by the worker are checked by gunicorn) and one var/ folder."""
    var = tmp_path / "var"
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                                                            "EMAIL_URL"}}
    env.update(SHORT, DATABASE_URL=e2e_services["database_url"],
               CELERY_BROKER_URL=e2e_services["broker_url"], ORDERFLOW_VAR_DIR=str(var),
               SECRET_KEY=settings.SECRET_KEY, ORDERFLOW_PUBLIC_URL=host,
               DJANGO_SETTINGS_MODULE="orderflow.settings", PYTHONUNBUFFERED="1")
    started = []
    try:
        web = Process([str(BIN / "gunicorn"), "orderflow.wsgi:application", "--bind",
                       f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "-"],
                      env, tmp_path / "gunicorn.log")
        started.append(web)
        wait_until(lambda: web.alive() and call("GET", f"{host}/healthz")[0] == 200,
                   timeout=60, what="gunicorn's /healthz")
        worker = Worker(broker_url=e2e_services["broker_url"],
                        database_url=e2e_services["database_url"],
                        log_path=tmp_path / "worker.log")
        worker.env.update(env)
        worker.start()
        started.append(worker)
        beat = Process([str(BIN / "celery"), "-A", "orderflow", "beat", "-l", "info"], env,
                       tmp_path / "beat.log")
        started.append(beat)
        yield {"host": host, "mail": var / "mail", "worker": worker, "beat": beat}
    finally:
        for process in reversed(started):
            process.kill()


def reminder_files(folder: Path) -> list[email.message.Message]:
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.log")):
        # The file backend appends messages separated by a line of dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.strip()))
    return [m for m in messages if m["List-Unsubscribe"]]


def text_of(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def test_idle_cart_reminder_link_checkout_and_summary(stack, admin_client_logged):
    host = stack["host"]
    shop = build_storefront()
    RecoverySettings.objects.create(channel=shop.channel, storefront_url=STOREFRONT)

    status, _, body = call("POST", f"{host}/api/v1/carts", {}, shop.secret)
    assert status == 201, body
    cart_id = json.loads(body)["id"]
    for method, path, payload in [
        ("POST", "lines", {"sku": "COF-250", "quantity": 2}),
        ("PUT", "addresses", {"shipping_address": ADDRESS}),
        ("POST", "shipping-method", {"code": "standard"}),
        ("PUT", "email", {"email": "idle.shopper@example.com", "marketing_consent": True}),
        ("POST", "price", None),
    ]:
        status, _, body = call(method, f"{host}/api/v1/carts/{cart_id}/{path}", payload,
                               shop.secret)
        assert status in (200, 201), (path, body)

    # Beat scans every second; the cart is idle after 2 s and its first e-mail due then.
    messages = wait_until(
        lambda: stack["beat"].alive() and reminder_files(stack["mail"]), timeout=90,
        what="the first reminder under var/mail/",
        describe=lambda: (stack["beat"].log_path.read_text()[-1500:] + "\n"
                          + stack["worker"].log_tail(1500)))
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "idle.shopper@example.com"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_of(message)
    assert "COF-250" in text and "× 2" in text and "JMD 6,835.00" in text
    link = re.search(rf"{re.escape(host)}/recover/(?!unsubscribe/)\S+", text).group(0)
    cart = Cart.objects.get(public_id=cart_id)
    assert cart.status == CartStatus.ABANDONED and cart.abandoned_at is not None

    status, headers, _ = call("GET", link)
    assert status == 302
    assert headers["Location"] == f"https://shop.example.com/cart/{cart_id}"
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE and cart.recovered_step == 1

    status, _, body = call("POST", f"{host}/api/v1/checkout",
                           {"cart_id": cart_id, "payment": {"kind": "payment_intent",
                                                            "reference": "pi_e2e_recovery"}},
                           shop.secret)
    assert status == 201, body
    order = Order.objects.get(cart__public_id=cart_id)
    assert order.total == Decimal("6835.00")

    summary = recovery_summary(days=7)
    assert summary["abandoned"] == 1 and summary["emails_sent"] == 1
    step_one = next(s for s in summary["steps"] if s["step"] == 1)
    assert (step_one["sent"], step_one["opened"], step_one["recovered"],
            step_one["converted"]) == (1, 1, 1, 1)
    assert step_one["revenue"] == {"JMD": Decimal("6835.00")}
    page = admin_client_logged.get("/admin/recovery/abandonedcart/summary/").content.decode()
    assert "JMD 6,835.00" in page and 'id="recovered-7">1<' in page
    # Converted: the sequence stopped (no second e-mail, however long beat keeps scanning).
    assert RecoveryEmail.objects.filter(cart=cart).count() == 1
