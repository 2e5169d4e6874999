import io
import json

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from catalog.models import PriceListEntry, Product, ProductUnit
from customers.models import Company, CompanyApprover, Customer
from orderflow.models import Channel

pytestmark = pytest.mark.django_db


def seed_json():
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def counts():
    return [m.objects.count() for m in
            (Channel, Product, ProductUnit, PriceListEntry, Company, Customer, CompanyApprover)]


def test_seed_demo_is_idempotent_and_prints_working_credentials(client):
    first = seed_json()
    before = counts()
    second = seed_json()
    assert counts() == before
    assert first == second
    assert set(first) >= {"staff", "customers", "approver"}
    assert first["customers"]["b2c"] == "shopper@example.com"

    assert before[0] == 2 and 18 <= before[1] <= 25
    assert set(Channel.objects.values_list("code", flat=True)) == {"ECOMMERCE", "B2B_PORTAL"}
    company = Company.objects.get(code=first["customers"]["company"])
    assert company.payment_terms == "NET30" and company.credit_limit > 0
    assert company.price_list.entries.filter(min_quantity__gt=1).exists()
    assert company.approvers.exists()
    assert Product.objects.filter(supplier__is_external=True).exists()
    assert Product.objects.filter(supplier__is_external=False).exists()

    assert client.login(username=first["staff"]["username"],
                        password=first["staff"]["password"])
    assert client.get("/admin/").status_code == 200


def test_openapi_schema_is_valid_and_documents_problem_errors(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    products = schema["paths"]["/api/v1/products/{id}"]["get"]["responses"]
    assert "application/problem+json" in products["404"]["content"]
    assert "Problem" in schema["components"]["schemas"]
    assert {"basicAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))


STOREFRONT_OPERATIONS = [
    ("/api/v1/carts", "post"), ("/api/v1/carts/{cart_id}", "get"),
    ("/api/v1/carts/{cart_id}/lines", "post"), ("/api/v1/carts/{cart_id}/lines/{line_id}", "patch"),
    ("/api/v1/carts/{cart_id}/lines/{line_id}", "delete"),
    ("/api/v1/carts/{cart_id}/price", "post"), ("/api/v1/carts/{cart_id}/addresses", "put"),
    ("/api/v1/carts/{cart_id}/shipping-estimates", "get"),
    ("/api/v1/carts/{cart_id}/shipping-method", "post"), ("/api/v1/checkout", "post"),
    ("/api/v1/orders", "get"), ("/api/v1/orders/{order_id}", "get"),
    ("/api/v1/shopper-tokens", "post"), ("/api/v1/products", "get"),
]


def test_storefront_operations_document_auth_errors_and_idempotency(client):
    schema = json.loads(client.get("/api/schema/?format=json").content)
    assert schema["components"]["securitySchemes"]["storefrontKey"]["scheme"] == "bearer"
    assert "shopperToken" in schema["components"]["securitySchemes"]
    for path, method in STOREFRONT_OPERATIONS:
        operation = schema["paths"][path][method]
        assert {"storefrontKey": []} in operation["security"], (path, method)
        assert "application/problem+json" in operation["responses"]["401"]["content"]
    for path in ("/api/v1/carts", "/api/v1/carts/{cart_id}/lines", "/api/v1/checkout"):
        names = [p["name"] for p in schema["paths"][path]["post"]["parameters"]]
        assert "Idempotency-Key" in names, path
    checkout = schema["paths"]["/api/v1/checkout"]["post"]
    assert "409" in checkout["responses"]


def test_swagger_ui_is_served_without_a_cdn(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page
