from __future__ import annotations

from django.db.models import Q

from customers.models import Company
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
