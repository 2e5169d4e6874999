"""The quote API: buyers by secret key + shopper token (their company only), staff by their
permissions; problem+json with stable codes."""

from __future__ import annotations

from decimal import Decimal

from rest_framework.test import APIClient

from orders.models import Order
from quotes.models import Quote
from tests import factories
from tests.quotes.conftest import make_quote, sent_quote


def staff(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.author)
    return client


def test_buyer_asks_for_a_quote_and_staff_build_submit_and_send_it(world):
    buyer = world.buyer_client()
    response = buyer.post("/api/v1/quote-requests", {
        "lines": [{"sku": "COF-250", "quantity": 40, "target_unit_price": "2000"}],
        "notes": "Monthly hotel order", "requested_delivery_date": "2099-01-31"}, format="json")
    assert response.status_code == 201, response.content
    request = response.json()
    assert request["number"].startswith("QR-") and request["lines"][0]["target_unit_price"] == (
        "2000.00")
    assert buyer.get("/api/v1/quote-requests").json()["results"][0]["id"] == request["id"]

    created = staff(world).post("/api/v1/quotes", {"request_id": request["id"]}, format="json")
    assert created.status_code == 201, created.content
    quote = created.json()
    assert quote["status"] == "draft" and quote["version"] == 1
    assert quote["lines"][0]["quantity"] == 40
    # Not sent yet: the buyer does not see it.
    assert buyer.get(f"/api/v1/quotes/{quote['id']}").status_code == 404

    patched = staff(world).patch(f"/api/v1/quotes/{quote['id']}", {"lines": [
        {"sku": "COF-250", "quantity": 40, "discount_percent": "30"}]}, format="json")
    assert patched.status_code == 200 and patched.json()["lines"][0]["unit_price"] == "1715.00"
    submitted = staff(world).post(f"/api/v1/quotes/{quote['id']}/submit")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "pending_approval"
    assert submitted.json()["levels_required"] == [1, 2]
    assert [level["status"] for level in submitted.json()["approval_levels"]] == [
        "pending", "waiting"]

    sent = staff(world).post(f"/api/v1/quotes/{quote['id']}/send")
    assert sent.status_code == 409
    body = sent.json()
    assert sent["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "invalid_transition" and "pending_approval" in body["detail"]


def test_buyer_accepts_and_gets_an_order_at_quoted_prices(world):
    quote = sent_quote(world, lines=None)
    buyer = world.buyer_client()
    listed = buyer.get("/api/v1/quotes").json()["results"]
    assert [q["number"] for q in listed] == [quote.number]
    response = buyer.post(f"/api/v1/quotes/{quote.public_id}/accept", {"version": 1},
                          format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "converted" and body["order_id"]
    order = Order.objects.get(public_id=body["order_id"])
    assert str(order.lines.get().unit_price) == "2450.0000"


def test_accepting_a_superseded_version_is_refused_with_its_code(world):
    quote = sent_quote(world)
    staff(world).patch(f"/api/v1/quotes/{quote.public_id}", {"terms": "New terms"},
                       format="json")
    staff(world).post(f"/api/v1/quotes/{quote.public_id}/submit")
    staff(world).post(f"/api/v1/quotes/{quote.public_id}/send")
    response = world.buyer_client().post(f"/api/v1/quotes/{quote.public_id}/accept",
                                         {"version": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "quote_superseded"
    versions = world.buyer_client().get(f"/api/v1/quotes/{quote.public_id}/versions").json()
    assert [v["version"] for v in versions] == [1, 2]


def test_over_credit_limit_is_in_the_answer(world):
    world.company.credit_limit = Decimal("10")
    world.company.save()
    quote = sent_quote(world)
    body = world.buyer_client().post(f"/api/v1/quotes/{quote.public_id}/accept").json()
    assert body["status"] == "accepted" and body["order_id"] is None
    assert body["conversion_error"]["code"] == "over_credit_limit"
    assert body["conversion_error"]["shortfall"]


def test_another_companys_buyer_gets_404(world):
    quote = sent_quote(world)
    request = world.buyer_client().post("/api/v1/quote-requests", {
        "lines": [{"sku": "MUG", "quantity": 1}]}, format="json").json()
    other_company = factories.CompanyFactory(code="rival")
    rival = world.shop.shopper(factories.CustomerFactory(company=other_company))
    assert rival.get(f"/api/v1/quotes/{quote.public_id}").status_code == 404
    assert rival.post(f"/api/v1/quotes/{quote.public_id}/accept").status_code == 404
    assert rival.get(f"/api/v1/quote-requests/{request['id']}").status_code == 404
    assert rival.get("/api/v1/quotes").json()["results"] == []
    assert Quote.objects.get(pk=quote.pk).status == "sent"


def test_auth_matrix(world):
    quote = make_quote(world)
    anonymous = APIClient()
    assert anonymous.get("/api/v1/quotes").status_code == 401
    publishable = world.shop.client(world.shop.publishable)
    assert publishable.get("/api/v1/quotes").status_code == 403
    no_token = world.shop.client(world.shop.secret)
    assert no_token.get("/api/v1/quotes").status_code == 403
    # Staff cannot accept for the buyer; a buyer cannot submit.
    assert staff(world).post(f"/api/v1/quotes/{quote.public_id}/accept").status_code == 403
    assert world.buyer_client().post(
        f"/api/v1/quotes/{quote.public_id}/submit").status_code == 403


def test_bad_input_is_problem_json_never_500(world):
    buyer = world.buyer_client()
    for body in ({}, {"lines": []}, {"lines": [{"sku": "NOPE", "quantity": 1}]},
                 {"lines": [{"sku": "MUG", "quantity": 0}]}, {"cart_id": "cart_missing"},
                 {"lines": [{"sku": "MUG", "quantity": 1}],
                  "requested_delivery_date": "2000-01-01"}):
        response = buyer.post("/api/v1/quote-requests", body, format="json")
        assert response.status_code in (400, 404), (body, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    response = staff(world).post("/api/v1/quotes", {"company": "acme", "lines": [
        {"sku": "MUG", "quantity": 1, "unit_price": "5", "discount_percent": "5"}]},
        format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_quote_from_a_cart_copies_its_lines(world):
    buyer = world.buyer_client()
    cart_id = buyer.post("/api/v1/carts", {}, format="json").json()["id"]
    buyer.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "RICE-5KG", "quantity": 3},
               format="json")
    response = buyer.post("/api/v1/quote-requests", {"cart_id": cart_id}, format="json")
    assert response.status_code == 201, response.content
    assert [(li["sku"], li["quantity"]) for li in response.json()["lines"]] == [("RICE-5KG", 3)]
    assert response.json()["cart_id"] == cart_id
