"""Demo data of the orders app, called by ``seed_demo`` (idempotent)."""

from __future__ import annotations

from decimal import Decimal

from orders.models import OrderApprovalRule

DEMO_RULES = [
    # (threshold, level): over 100,000 the company's level-1 approver signs off; over
    # 300,000 a level-2 approver (or staff with orders.approve_order) must too.
    (Decimal("100000.00"), 1),
    (Decimal("300000.00"), 2),
]


def seed_orders_demo(*, company, approver=None) -> list[OrderApprovalRule]:
    """Approval rules for the demo company. ``approver`` (its level-1 approver) is accepted
    so the caller documents who approves; the rules themselves only name levels."""
    rules = []
    for threshold, level in DEMO_RULES:
        rule, _ = OrderApprovalRule.objects.update_or_create(
            company=company, level=level,
            defaults={"threshold": threshold, "is_active": True},
        )
        rules.append(rule)
    return rules
