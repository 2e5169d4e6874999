"""Every API error is application/problem+json with a stable code, never an HTML page."""

import pytest

from tests import factories

PROBLEM = "application/problem+json"


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:orderflow:problem:{code}"
    assert body["title"] and body["detail"]
    return body


@pytest.mark.django_db
def test_unknown_api_path_is_problem_404(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.django_db
def test_unknown_api_path_is_problem_404_even_with_debug(client, settings):
    settings.DEBUG = True
    assert_problem(client.get("/api/v1/no-such-thing/deeper"), 404, "not_found")


@pytest.mark.django_db
def test_unknown_object_is_problem_404(staff_client):
    assert_problem(staff_client.get("/api/v1/products/prod_doesnotexist"), 404, "not_found")


@pytest.mark.django_db
def test_validation_error_lists_fields(staff_client):
    body = assert_problem(staff_client.get("/api/v1/products?active=perhaps"), 400,
                          "validation_error")
    assert list(body["errors"]) == ["active"]
    assert body["errors"]["active"]


@pytest.mark.django_db
def test_anonymous_is_problem_401(client):
    response = client.get("/api/v1/products")
    body = assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["detail"]


@pytest.mark.django_db
def test_wrong_password_is_problem_401(client, staff_user):
    response = client.get("/api/v1/products", HTTP_AUTHORIZATION="Basic bm9ib2R5Om5vcGU=")
    assert_problem(response, 401, "authentication_failed")


@pytest.mark.django_db
def test_non_staff_user_is_problem_403(client):
    user = factories.UserFactory()
    client.force_login(user)
    assert_problem(client.get("/api/v1/products"), 403, "permission_denied")


@pytest.mark.django_db
def test_method_not_allowed(staff_client):
    assert_problem(staff_client.post("/api/v1/products", {}, format="json"), 405,
                   "method_not_allowed")
