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


def company_for_pricing(*, user, requested: str | None) -> Company | None:
    """Whose contract prices a catalog read shows.

    Staff may ask for any company; the storefront principals (issue: storefront API) add the
    shopper's own company.
    """
    if requested and getattr(user, "is_staff", False):
        return company_get(key=requested)
    customer = getattr(user, "customer", None) if getattr(user, "is_authenticated", False) else None
    if customer is not None and customer.company_id:
        return Company.objects.select_related("price_list").get(pk=customer.company_id)
    return None
