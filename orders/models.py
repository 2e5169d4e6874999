from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from orderflow.models import (
    Channel,
    PublicIdField,
    TimelineEvent,
    TimeStampedModel,
    human_number,
)
from orderflow.money import CurrencyField, MoneyField
from orders.constants import (
    EDITABLE_STATUSES,
    ORDER_TRANSITIONS,
    ApprovalDecision,
    FulfillmentStatus,
    InvoiceStatus,
    OrderEditStatus,
    OrderStatus,
    PaymentKind,
    PaymentRecordStatus,
    PaymentStatus,
    SupplierOrderStatus,
    TransactionKind,
    TransactionResult,
)


class Order(TimeStampedModel):
    public_id = PublicIdField(prefix="ord")
    number = human_number("OF-")  # human order number, OF-000123
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="orders")
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="orders")
    cart = models.OneToOneField("carts.Cart", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="order")
    api_key = models.ForeignKey("bridges.ApiKey", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="orders")
    connection = models.ForeignKey("bridges.InboundConnection", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="orders",
                                   help_text="The bridge connection that created it, if any.")
    email = models.EmailField(blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, db_index=True)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices,
                                      default=PaymentStatus.UNPAID, db_index=True)
    fulfillment_status = models.CharField(max_length=20, choices=FulfillmentStatus.choices,
                                          default=FulfillmentStatus.UNFULFILLED, db_index=True)
    currency = CurrencyField()
    subtotal = MoneyField(default=Decimal("0"))
    tax_total = MoneyField(default=Decimal("0"))
    shipping_total = MoneyField(default=Decimal("0"))
    total = MoneyField(default=Decimal("0"))
    shipping_method = models.ForeignKey("fulfillment.ShippingMethod", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    shipping_method_name = models.CharField(max_length=120, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    notes = models.TextField(blank=True)
    external_reference = models.CharField(
        max_length=64, blank=True,
        help_text="The order's id in the system it was imported from (unique per channel).")
    metadata = models.JSONField(default=dict, blank=True)
    approval_levels = models.JSONField(
        default=list, blank=True,
        help_text="The approval levels this order needs, in order (from the company's rules "
        "when it was placed).",
    )
    cancel_reason = models.CharField(max_length=40, blank=True)
    decline_reason = models.TextField(blank=True)
    placed_at = models.DateTimeField(db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            # Re-importing the same file cannot create the same order twice.
            models.UniqueConstraint(fields=["channel", "external_reference"],
                                    condition=~Q(external_reference=""),
                                    name="order_external_reference_unique"),
        ]
        indexes = [
            # The ERP's batch pull: "confirmed and not exported".
            models.Index(fields=["status", "placed_at"], name="order_unexported_idx",
                         condition=Q(exported_at__isnull=True)),
            # Scheduled exports: "changed since the last run".
            models.Index(fields=["updated_at"], name="order_updated_at_idx"),
        ]
        permissions = [
            ("approve_order", "Can approve or decline orders awaiting approval"),
        ]

    def __str__(self):
        return self.number or self.public_id

    def can(self, action: str) -> bool:
        """Whether the transition table lets ``action`` start from the current status."""
        sources, _ = ORDER_TRANSITIONS[action]
        return self.status in sources

    @property
    def is_editable(self) -> bool:
        """Staff may stage and apply edits (lines, addresses, shipping method)."""
        return (self.status in EDITABLE_STATUSES
                and self.fulfillment_status != FulfillmentStatus.FULFILLED)


class OrderLine(models.Model):
    public_id = PublicIdField(prefix="ol")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(help_text="In the product's base unit.")
    order_uom = models.CharField(max_length=16, blank=True)
    order_quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = MoneyField()
    price_source = models.CharField(max_length=10, blank=True)
    line_subtotal = MoneyField()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4)
    tax_amount = MoneyField()
    line_total = MoneyField()
    quantity_reserved = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_gte_1"),
            models.CheckConstraint(condition=Q(quantity_shipped__lte=F("quantity")),
                                   name="orderline_shipped_within_quantity"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"

    @property
    def quantity_unshipped(self) -> int:
        return self.quantity - self.quantity_shipped


class Payment(TimeStampedModel):
    """A reference to money handled elsewhere: never card data.

    ``amount_*`` are running sums of the succeeded transactions, kept by the services so lists
    need no aggregate; ``refund_owed`` is money the seller must still give back (a canceled or
    reduced order), ``amount_due`` money still to collect beyond ``amount`` (an edit).
    """

    public_id = PublicIdField(prefix="pay")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField(max_length=20, choices=PaymentKind.choices)
    reference = models.CharField(max_length=120, blank=True,
                                 help_text="The provider's payment id (pi_…).")
    amount = MoneyField()
    currency = CurrencyField()
    status = models.CharField(max_length=12, choices=PaymentRecordStatus.choices,
                              default=PaymentRecordStatus.PENDING)
    amount_authorized = MoneyField(default=Decimal("0"))
    amount_captured = MoneyField(default=Decimal("0"))
    amount_refunded = MoneyField(default=Decimal("0"))
    amount_voided = MoneyField(default=Decimal("0"))
    refund_owed = MoneyField(default=Decimal("0"))
    amount_due = MoneyField(default=Decimal("0"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_refunded__lte=F("amount_captured")),
                                   name="payment_refunds_within_captures"),
            models.CheckConstraint(condition=Q(refund_owed__gte=0) & Q(amount_due__gte=0),
                                   name="payment_owed_and_due_not_negative"),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.currency}"

    @property
    def amount_net(self) -> Decimal:
        return self.amount_captured - self.amount_refunded


class PaymentTransaction(models.Model):
    """One provider result on a payment: authorize, capture, refund or void."""

    public_id = PublicIdField(prefix="ptx")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="transactions")
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    result = models.CharField(max_length=10, choices=TransactionResult.choices,
                              default=TransactionResult.SUCCEEDED)
    amount = MoneyField(validators=[MinValueValidator(Decimal("0"))])
    currency = CurrencyField()
    reference = models.CharField(max_length=120, blank=True,
                                 help_text="The provider's id for this operation.")
    message = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(help_text="When the provider says it happened.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymenttx_amount_positive"),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.currency} ({self.result})"


class Invoice(TimeStampedModel):
    public_id = PublicIdField(prefix="inv")
    number = human_number("INV-")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.ISSUED, db_index=True)
    amount = MoneyField()
    currency = CurrencyField()
    issued_at = models.DateTimeField(db_index=True)
    due_date = models.DateField(db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=~Q(status=InvoiceStatus.VOID),
                                    name="invoice_one_live_per_order"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_not_negative"),
        ]

    def __str__(self):
        return self.number or self.public_id


class OrderApprovalRule(TimeStampedModel):
    """Orders of ``company`` whose total is over ``threshold`` need an approval at ``level``.

    Rules add up: "over 5,000 → level 1" and "over 20,000 → level 2" make a 25,000 order need
    level 1 and then level 2.
    """

    company = models.ForeignKey("customers.Company", on_delete=models.CASCADE,
                                related_name="order_approval_rules")
    threshold = MoneyField(validators=[MinValueValidator(Decimal("0"))],
                           help_text="Applies to orders whose total is above this amount.")
    level = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["company", "threshold", "level"]
        constraints = [
            models.UniqueConstraint(fields=["company", "level"], name="approvalrule_one_per_level"),
            models.CheckConstraint(condition=Q(threshold__gte=0),
                                   name="approvalrule_threshold_not_negative"),
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=9),
                                   name="approvalrule_level_1_to_9"),
        ]

    def __str__(self):
        return f"{self.company}: over {self.threshold} → level {self.level}"


class OrderApproval(models.Model):
    """One decision on an order awaiting approval."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="approvals")
    level = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=10, choices=ApprovalDecision.choices)
    approver = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="order_approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "level"],
                                    name="orderapproval_one_decision_per_level"),
        ]

    def __str__(self):
        return f"level {self.level} {self.decision} by {self.actor_label}"


class SupplierOrder(TimeStampedModel):
    """The lines of one order that an outside supplier ships, forwarded to it."""

    public_id = PublicIdField(prefix="so")
    number = models.CharField(max_length=24, unique=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="supplier_orders")
    supplier = models.ForeignKey("catalog.Supplier", on_delete=models.PROTECT,
                                 related_name="supplier_orders")
    status = models.CharField(max_length=12, choices=SupplierOrderStatus.choices,
                              default=SupplierOrderStatus.OPEN, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "supplier"],
                                    name="supplierorder_one_per_supplier"),
        ]

    def __str__(self):
        return self.number


class SupplierOrderLine(models.Model):
    supplier_order = models.ForeignKey(SupplierOrder, on_delete=models.CASCADE,
                                       related_name="lines")
    order_line = models.OneToOneField(OrderLine, on_delete=models.CASCADE,
                                      related_name="supplier_line")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class OrderEvent(TimelineEvent):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineEvent.Meta):
        pass


class OrderEdit(TimeStampedModel):
    """A change to a confirmed order, staged with its preview, then applied or discarded.

    ``changes`` is what staff asked for (normalised); ``preview`` what applying it does: the
    new lines and totals, the stock to reserve or release, the money to collect or refund.
    Applying recomputes the preview and refuses if the order or its prices moved since.
    """

    public_id = PublicIdField(prefix="oed")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="edits")
    status = models.CharField(max_length=10, choices=OrderEditStatus.choices,
                              default=OrderEditStatus.STAGED, db_index=True)
    changes = models.JSONField(default=dict)
    preview = models.JSONField(default=dict)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.public_id} ({self.status})"
