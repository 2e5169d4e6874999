from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Company, CompanyApprover, Customer
from customers.resources import CompanyResource, CustomerResource
from tests import factories
from tests.import_helpers import load_dataset, row_errors

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.django_db


def test_company_import_good_file():
    factories.PriceListFactory(code="b2b")
    result = CompanyResource().import_data(load_dataset(FIXTURES / "companies_good.csv"))
    assert not result.has_errors() and not result.has_validation_errors()
    hotels = Company.objects.get(code="montego-hotels")
    assert hotels.credit_limit == Decimal("250000.00")
    assert hotels.payment_terms == "NET30" and hotels.terms_days == 30
    assert hotels.price_list.code == "b2b"


def test_company_import_bad_terms_imports_nothing():
    factories.PriceListFactory(code="b2b")
    result = CompanyResource().import_data(load_dataset(FIXTURES / "companies_bad_row.csv"))
    errors = row_errors(result)
    assert list(errors) == [2]
    assert "NET90" in errors[2]
    assert Company.objects.count() == 0


def test_customer_import_links_company_and_normalises_email():
    factories.CompanyFactory(code="montego-hotels")
    result = CustomerResource().import_data(load_dataset(FIXTURES / "customers_good.csv"))
    assert not result.has_errors() and not result.has_validation_errors()
    buyer = Customer.objects.get(email="buyer@montego.example.com")
    assert buyer.company.code == "montego-hotels"
    assert buyer.public_id.startswith("cus_")


def test_customer_import_bad_email_imports_nothing():
    factories.CompanyFactory(code="montego-hotels")
    result = CustomerResource().import_data(load_dataset(FIXTURES / "customers_bad_row.csv"))
    assert list(row_errors(result)) == [2]
    assert Customer.objects.count() == 0


def test_customer_email_is_unique_ignoring_case():
    factories.CustomerFactory(email="sasha@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CustomerFactory(email="Sasha@Example.com")


def test_approver_must_belong_to_the_company():
    company = factories.CompanyFactory()
    outsider = factories.CustomerFactory(company=factories.CompanyFactory())
    approver = CompanyApprover(company=company, customer=outsider, level=1)
    with pytest.raises(ValidationError):
        approver.full_clean()


def test_credit_limit_cannot_be_negative_in_the_database():
    company = factories.CompanyFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Company.objects.filter(pk=company.pk).update(credit_limit=Decimal("-1"))
