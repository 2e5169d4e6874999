"""Quote requests (RFQs), quotes with their versions and lines, the approval policy, the
approvals given, and each quote's timeline.

A quote is the negotiation; each ``QuoteVersion`` is one offer in it (lines, totals, validity,
terms). Editing a version that already left draft creates the next one, so every offer ever
submitted or sent stays readable; ``Quote.current`` is the latest.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from orderflow.models import PublicIdField, TimelineEvent, TimeStampedModel, human_number
from orderflow.money import CurrencyField, MoneyField
from quotes.constants import (
    QUOTE_TRANSITIONS,
    ApprovalDecision,
    DigestFrequency,
    QuoteRequestStatus,
    QuoteStatus,
    RuleKind,
)


class QuoteRequest(TimeStampedModel):
    """A buyer's request for a quote: lines, notes, a wished delivery date."""

    public_id = PublicIdField(prefix="qr")
    number = human_number("QR-")
    channel = models.ForeignKey("orderflow.Channel", on_delete=models.PROTECT,
                                related_name="quote_requests")
    company = models.ForeignKey("customers.Company", on_delete=models.PROTECT,
                                related_name="quote_requests")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="quote_requests")
    api_key = models.ForeignKey("bridges.ApiKey", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    cart = models.ForeignKey("carts.Cart", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", help_text="The cart its lines were copied from.")
    status = models.CharField(max_length=10, choices=QuoteRequestStatus.choices,
                              default=QuoteRequestStatus.OPEN, db_index=True)
    notes = models.TextField(blank=True)
    requested_delivery_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   help_text="The staff user who entered it, if any.")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.number or self.public_id


class QuoteRequestLine(models.Model):
    request = models.ForeignKey(QuoteRequest, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(help_text="In the product's base unit.")
    target_unit_price = MoneyField(null=True, blank=True,
                                   help_text="The unit price the buyer hopes for.")
    notes = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1),
                                   name="quoterequestline_quantity_gte_1"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class Quote(TimeStampedModel):
    public_id = PublicIdField(prefix="quo")
    number = human_number("Q-")  # Q-000123
    channel = models.ForeignKey("orderflow.Channel", on_delete=models.PROTECT,
                                related_name="quotes")
    company = models.ForeignKey("customers.Company", on_delete=models.PROTECT,
                                related_name="quotes")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="quotes",
                                 help_text="The buyer's contact: quote e-mails go to them.")
    request = models.ForeignKey(QuoteRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="quotes")
    status = models.CharField(max_length=20, choices=QuoteStatus.choices,
                              default=QuoteStatus.DRAFT, db_index=True)
    current = models.ForeignKey("QuoteVersion", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                help_text="The latest version.")
    currency = CurrencyField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="quotes_authored",
                               help_text="Never approves this quote.")
    shipping_address = models.JSONField(null=True, blank=True)
    order = models.OneToOneField("orders.Order", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="quote")
    conversion_error = models.JSONField(
        null=True, blank=True,
        help_text="Why an accepted quote is not an order yet (e.g. over_credit_limit).")
    decline_reason = models.TextField(blank=True)
    changes_comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                   help_text="First sent: from then on the buyer sees it.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    awaiting_level = models.PositiveSmallIntegerField(
        null=True, blank=True, db_index=True,
        help_text="While pending approval: the level whose decision it waits for.")
    reminded_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version whose expiry reminder was sent.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="quote_company_status_idx")]
        permissions = [("approve_quote", "Can decide quotes in the approvals inbox")]

    def __str__(self):
        return self.number or self.public_id

    def can(self, action: str) -> bool:
        sources, _ = QUOTE_TRANSITIONS[action]
        return self.status in sources

    @property
    def version(self) -> int:
        return self.current.number if self.current_id else 0


class QuoteVersion(models.Model):
    """One offer of a quote: what the approvers approve and the buyer accepts."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    currency = CurrencyField()
    valid_until = models.DateField()
    terms = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="Shown to the buyer.")
    shipping_total = MoneyField(default=Decimal("0"))
    subtotal = MoneyField(default=Decimal("0"))
    tax_total = MoneyField(default=Decimal("0"))
    total = MoneyField(default=Decimal("0"))
    approval_levels = models.JSONField(default=list, blank=True,
                                       help_text="Levels required when it was submitted.")
    approval_reasons = models.JSONField(default=list, blank=True,
                                        help_text="The rules that required them.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["quote", "number"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "number"], name="quoteversion_unique"),
        ]

    def __str__(self):
        return f"{self.quote} v{self.number}"

    @property
    def is_frozen(self) -> bool:
        """Submitted or sent: an edit makes the next version instead."""
        return self.submitted_at is not None or self.sent_at is not None


class QuoteLine(models.Model):
    version = models.ForeignKey(QuoteVersion, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(help_text="In the product's base unit.")
    list_price = MoneyField(help_text="The buyer's price without the quote (pricing rule).")
    unit_price = MoneyField(help_text="The quoted unit price.")
    discount_percent = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    unit_cost = MoneyField(null=True, blank=True, help_text="For the margin rules.")
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0"))
    line_subtotal = MoneyField(default=Decimal("0"))
    tax_amount = MoneyField(default=Decimal("0"))
    line_total = MoneyField(default=Decimal("0"))
    notes = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="quoteline_quantity_gte_1"),
            models.CheckConstraint(condition=Q(unit_price__gte=0),
                                   name="quoteline_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"

    @property
    def margin_percent(self) -> Decimal | None:
        if self.unit_cost is None or not self.unit_price:
            return None
        return ((self.unit_price - self.unit_cost) * 100 / self.unit_price).quantize(
            Decimal("0.01"))


class QuoteApprovalLevel(models.Model):
    """Who approves at a level: the members of a Django group."""

    level = models.PositiveSmallIntegerField(
        unique=True, validators=[MinValueValidator(1), MaxValueValidator(9)])
    name = models.CharField(max_length=80, help_text="e.g. 'Sales managers', 'Finance'.")
    group = models.ForeignKey("auth.Group", on_delete=models.PROTECT,
                              related_name="quote_approval_levels",
                              help_text="Its members approve quotes at this level.")

    class Meta:
        ordering = ["level"]

    def __str__(self):
        return f"Level {self.level}: {self.name}"


class QuoteApprovalRule(TimeStampedModel):
    """When a submitted quote needs an approval at ``level``. Rules add up: every rule that
    matches adds its level, and levels decide in order."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=24, choices=RuleKind.choices)
    threshold = models.DecimalField(max_digits=14, decimal_places=4,
                                    validators=[MinValueValidator(Decimal("0"))],
                                    help_text="A percentage (discount, margin) or an amount "
                                              "(total, in the quote's currency).")
    level = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(9)])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["level", "kind", "threshold"]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=9),
                                   name="quoterule_level_1_to_9"),
            models.CheckConstraint(condition=Q(threshold__gte=0),
                                   name="quoterule_threshold_not_negative"),
        ]

    def __str__(self):
        return f"{self.name} → level {self.level}"


class QuoteApproval(models.Model):
    """One approver's decision on one version."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="approvals")
    version = models.ForeignKey(QuoteVersion, on_delete=models.CASCADE, related_name="approvals")
    level = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=20, choices=ApprovalDecision.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="quote_approvals")
    actor_label = models.CharField(max_length=200)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "user"],
                                    name="quoteapproval_one_per_approver"),
            models.UniqueConstraint(fields=["version", "level"],
                                    name="quoteapproval_one_per_level"),
        ]

    def __str__(self):
        return f"v{self.version_id} level {self.level} {self.decision} by {self.actor_label}"


class QuoteEvent(TimelineEvent):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="events")
    version = models.PositiveIntegerField(null=True, blank=True)

    class Meta(TimelineEvent.Meta):
        pass


class ApproverPreference(models.Model):
    """How an approver hears about new items in their inbox."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="approver_preference")
    digest = models.CharField(max_length=10, choices=DigestFrequency.choices,
                              default=DigestFrequency.IMMEDIATE)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "approver e-mail preference"

    def __str__(self):
        return f"{self.user}: {self.digest}"
