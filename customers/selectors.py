from __future__ import annotations

from django.db.models import Q

from customers.models import Address, Company
from orderflow.errors import NotFound


def company_get(*, key: str) -> Company:
    """A company by public id or code."""
    company = (
        Company.objects.select_related("price_list").filter(Q(public_id=key) | Q(code=key)).first()
    )
    if company is None:
        raise NotFound(f"No company {key}.")
    return company


def company_for_pricing(*, principal, requested: str | None) -> Company | None:
    """Whose contract prices a catalog read shows: the shopper's company, or for staff the
    company they ask for (``?company=``)."""
    if principal.is_staff:
        return company_get(key=requested) if requested else None
    if principal.customer is not None and principal.customer.company_id:
        return principal.customer.company
    return None


def customer_default_addresses(*, customer) -> tuple[Address | None, Address | None]:
    """``(shipping, billing)``: the customer's own default addresses, else their company's;
    None where there is none. One query."""
    owners = Q(customer_id=customer.pk)
    if customer.company_id:
        owners |= Q(company_id=customer.company_id, customer__isnull=True)
    rows = list(Address.objects.filter(owners).filter(
        Q(is_default_shipping=True) | Q(is_default_billing=True)).order_by("id"))
    # The customer's own address first, then the company's.
    rows.sort(key=lambda address: address.customer_id != customer.pk)
    shipping = next((a for a in rows if a.is_default_shipping), None)
    billing = next((a for a in rows if a.is_default_billing), None)
    return shipping, billing
