"""Recovery links, unsubscribe and the storefront endpoints, as a shopper and a storefront
meet them: over HTTP, from the e-mail that was sent."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.test import Client

from bridges.access.services import api_key_create, connection_create
from bridges.constants import KeyKind
from bridges.models import BridgeScope
from carts.constants import CartStatus
from carts.models import Cart
from catalog.models import Product
from orderflow.models import OutboxEvent
from recovery import services, tokens
from recovery.models import RecoveryEmail, RecoverySettings, Unsubscribe
from recovery.selectors import due_reminders, recovery_summary
from tests import factories
from tests.bridges.conftest import Bridge
from tests.recovery.conftest import STOREFRONT_URL, cart_with, idle

pytestmark = pytest.mark.django_db


def abandon_and_send(cart, step=None) -> RecoveryEmail:
    services.carts_abandon()
    return services.reminder_send(cart_pk=cart.pk, step=step, sent_by="test" if step else "")


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def links(message) -> tuple[str, str]:
    """The recovery and unsubscribe paths of a sent reminder (its text part)."""
    found = re.findall(r"https?://\S+/recover/\S+", message.body)
    recover = next(u for u in found if "/unsubscribe/" not in u)
    unsubscribe = next(u for u in found if "/unsubscribe/" in u)
    return path_of(recover), path_of(unsubscribe)


def old_token(email: RecoveryEmail, days: float) -> str:
    class Then(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time() - days * 86400))

    return Then(salt=tokens.LINK_SALT).sign(email.public_id)


def test_the_link_restores_and_reprices_the_cart(shop, client):
    RecoverySettings.objects.create(channel=shop.channel, storefront_url=STOREFRONT_URL)
    cart = idle(cart_with(shop), 3600)
    abandon_and_send(cart)
    recover, _ = links(mail.outbox[0])
    Product.objects.filter(sku="COF-250").update(list_price=Decimal("2600.00"))

    response = client.get(recover)

    assert response.status_code == 302
    assert response["Location"] == f"{STOREFRONT_URL}&cart_id={cart.public_id}"
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE and cart.recovered_step == 1
    assert cart.is_priced and cart.subtotal == Decimal("5200.00")
    email = RecoveryEmail.objects.get(cart=cart)
    assert email.link_opened_at is not None
    event = OutboxEvent.objects.get(type="cart.recovered")
    assert event.payload["step"] == 1 and event.payload["id"] == cart.public_id


def test_the_api_recovers_the_cart_and_names_the_price_change(shop):
    cart = idle(cart_with(shop), 3600)
    email = abandon_and_send(cart)
    Product.objects.filter(sku="COF-250").update(list_price=Decimal("2600.00"))

    response = shop.client(shop.publishable).post(
        "/api/v1/carts/recover", {"token": tokens.link_token(email)}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == cart.public_id and body["status"] == "active"
    assert body["recovered_step"] == 1 and body["is_priced"]
    changed = [p for p in body["problems"] if p["code"] == "price_changed"]
    assert changed == [{"code": "price_changed", "sku": "COF-250",
                        "line_id": changed[0]["line_id"], "priced": "2450.00",
                        "current": "2600.00", "detail": changed[0]["detail"]}]
    # Following it again is harmless: the cart stays active, recovered through step 1.
    again = shop.client(shop.publishable).post(
        "/api/v1/carts/recover", {"token": tokens.link_token(email)}, format="json")
    assert again.status_code == 200 and again.json()["problems"] == []
    assert OutboxEvent.objects.filter(type="cart.recovered").count() == 1


@pytest.mark.parametrize("make_token, reason", [
    (lambda email: tokens.link_token(email)[:-1] + "x", "tampered"),
    (lambda email: tokens.link_token(email).replace("rce_", "rcf_"), "tampered"),
    (lambda email: old_token(email, 8), "expired"),
    (lambda email: "garbage", "tampered"),
])
def test_tampered_and_expired_tokens(shop, client, make_token, reason):
    cart = idle(cart_with(shop), 3600)
    token = make_token(abandon_and_send(cart))

    page = client.get(f"/recover/{token}")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "This recovery link does not work" in text and f"({reason})" in text

    api = shop.client(shop.publishable).post("/api/v1/carts/recover", {"token": token},
                                             format="json")
    assert api.status_code == 400
    assert api["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "recovery_token_invalid" and api.json()["reason"] == reason
    assert Cart.objects.get(pk=cart.pk).status == CartStatus.ABANDONED


def test_link_days_per_channel(shop):
    cart = idle(cart_with(shop), 3600)
    email = abandon_and_send(cart)
    assert tokens.link_resolve(old_token(email, 6)) == email
    RecoverySettings.objects.create(channel=shop.channel, link_days=5)
    with pytest.raises(tokens.RecoveryTokenInvalid):
        tokens.link_resolve(old_token(email, 6))


def test_another_channels_storefront_cannot_use_the_link(shop):
    cart = idle(cart_with(shop), 3600)
    email = abandon_and_send(cart)
    _, key = api_key_create(name="market", kind=KeyKind.PUBLISHABLE, mode="test",
                            channel=factories.ChannelFactory(code="MARKETPLACE"))
    response = shop.client(key).post(
        "/api/v1/carts/recover", {"token": tokens.link_token(email)}, format="json")
    assert response.status_code == 400 and response.json()["reason"] == "channel"


def test_a_converted_cart_link_says_so(shop, client):
    cart = idle(cart_with(shop), 3600)
    email = abandon_and_send(cart)
    response = shop.client(shop.secret).post(
        "/api/v1/checkout", {"cart_id": cart.public_id,
                             "payment": {"kind": "payment_intent", "reference": "pi_2"}},
        format="json")
    assert response.status_code == 201
    page = client.get(f"/recover/{tokens.link_token(email)}")
    assert page.status_code == 409 and "already checked out" in page.content.decode()


def test_without_a_storefront_url_the_page_says_the_cart_is_saved(shop, client):
    cart = idle(cart_with(shop), 3600)
    abandon_and_send(cart)
    recover, _ = links(mail.outbox[0])
    page = client.get(recover)
    assert page.status_code == 200
    assert cart.public_id in page.content.decode()


def test_unsubscribe_is_honoured_across_carts(shop, client):
    first = idle(cart_with(shop, email="Pat@Example.com"), 3600)
    abandon_and_send(first)
    _, unsubscribe = links(mail.outbox[0])
    assert mail.outbox[0].extra_headers["List-Unsubscribe"] == \
        f"<http://127.0.0.1:8000{unsubscribe}>"

    asked = client.get(unsubscribe)  # a link scanner's GET unsubscribes no one
    assert asked.status_code == 200 and "pat@example.com" in asked.content.decode()
    assert not Unsubscribe.objects.exists()
    one_click = Client(enforce_csrf_checks=True).post(
        unsubscribe, "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    assert "You are unsubscribed" in one_click.content.decode()
    assert list(Unsubscribe.objects.values_list("email", flat=True)) == ["pat@example.com"]

    second = idle(cart_with(shop, email="pat@example.com"), 3600)
    services.carts_abandon()
    assert due_reminders() == []
    assert services.reminder_send(cart_pk=second.pk, step=1, sent_by="staff") is None
    assert services.reminder_send(cart_pk=first.pk, step=2, sent_by="staff") is None
    assert len(mail.outbox) == 1
    bad = client.post(unsubscribe[:-2] + "zz")
    assert bad.status_code == 400


def test_put_email_sets_address_and_consent(shop):
    client = shop.client(shop.publishable)
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    response = client.put(f"/api/v1/carts/{cart_id}/email",
                          {"email": " Lee@Example.com ", "marketing_consent": True},
                          format="json")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "lee@example.com"
    cart = Cart.objects.get(public_id=cart_id)
    assert cart.marketing_consent is True
    bad = client.put(f"/api/v1/carts/{cart_id}/email", {"email": "nope"}, format="json")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    missing = client.put("/api/v1/carts/cart_nope/email", {"email": "a@b.co"}, format="json")
    assert missing.status_code == 404


def test_bridge_set_email(shop):
    connection = connection_create(name="Headless shop", channel=shop.channel,
                                   scopes=list(BridgeScope.values))
    bridge = Bridge(connection=connection, client=Client(REMOTE_ADDR="203.0.113.7"))
    cart_id = bridge.ok("cart.create", {})["cart_id"]
    bridge.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    answer = bridge.ok("cart.setEmail", {"cart_id": cart_id, "email": "remote@example.com",
                                         "marketing_consent": True})
    assert answer["email"] == "remote@example.com"
    cart = idle(Cart.objects.get(public_id=cart_id), 3600)
    assert cart.marketing_consent and services.carts_abandon() == [cart.pk]


def test_attribution_of_recovered_revenue_to_the_step(shop, client):
    by_link = idle(cart_with(shop, email="one@example.com"), 3600)
    on_their_own = idle(cart_with(shop, email="two@example.com", lines=(("RICE-5KG", 1),)),
                        3600)
    never = idle(cart_with(shop, email="three@example.com"), 3600)
    services.carts_abandon()
    for cart in (by_link, on_their_own, never):
        services.reminder_send(cart_pk=cart.pk)
        services.reminder_send(cart_pk=cart.pk, step=2, sent_by="ops")
    step_two = RecoveryEmail.objects.get(cart=by_link, step=2)
    assert client.get(f"/recover/{tokens.link_token(step_two)}").status_code == 200
    secret = shop.client(shop.secret)
    for cart in (by_link, on_their_own):
        response = secret.post("/api/v1/checkout", {
            "cart_id": cart.public_id,
            "payment": {"kind": "payment_intent", "reference": f"pi_{cart.pk}"}},
            format="json")
        assert response.status_code == 201, response.content

    summary = recovery_summary(days=7)

    assert summary["abandoned"] == 3 and summary["emails_sent"] == 6
    assert summary["recovered"] == 2 and summary["converted"] == 2
    steps = {entry["step"]: entry for entry in summary["steps"]}
    assert steps[1]["sent"] == 3 and steps[1]["recovered"] == 0 and steps[1]["revenue"] == {}
    assert steps[2]["sent"] == 3 and steps[2]["opened"] == 1
    assert (steps[2]["recovered"], steps[2]["converted"]) == (1, 1)
    assert steps[2]["revenue"] == {"JMD": Decimal("6835.00")}  # 2 × 2450 + GCT + shipping
    assert steps[None]["converted"] == 1  # checked out straight from abandoned, no link
    assert steps[None]["revenue"] == {"JMD": Decimal("3300.00")}  # 2100, 0 % tax, shipping
    assert summary["revenue"] == {"JMD": Decimal("10135.00")}
