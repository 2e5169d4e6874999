from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from customers.constants import TERMS_DAYS, PaymentTerms
from orderflow.models import PublicIdField, TimeStampedModel
from orderflow.money import CurrencyField, MoneyField


class Company(TimeStampedModel):
    """A B2B buyer account."""

    public_id = PublicIdField(prefix="co")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    tax_id = models.CharField("tax id (TRN)", max_length=40, blank=True)
    credit_limit = MoneyField(default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    currency = CurrencyField()
    payment_terms = models.CharField(
        max_length=8, choices=PaymentTerms.choices, default=PaymentTerms.COD
    )
    price_list = models.ForeignKey(
        "catalog.PriceList", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="companies",
    )
    is_active = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0),
                                   name="company_credit_limit_not_negative"),
        ]

    def __str__(self):
        return self.name

    @property
    def terms_days(self) -> int:
        return TERMS_DAYS[PaymentTerms(self.payment_terms)]


class Customer(TimeStampedModel):
    """A buyer: a shopper (B2C) or a member of a company (B2B)."""

    public_id = PublicIdField(prefix="cus")
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="customer", help_text="Login for the approver pages, if any.",
    )
    is_active = models.BooleanField(default=True)
    accepts_marketing = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_unique_ci"),
        ]

    def __str__(self):
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def clean(self):
        if self.email:
            self.email = self.email.strip().lower()


class CompanyApprover(models.Model):
    """A member of a company who approves its quotes and orders at ``level``."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="approvers")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="approver_of")
    level = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(9)]
    )

    class Meta:
        ordering = ["company", "level", "customer"]
        constraints = [
            models.UniqueConstraint(fields=["company", "customer"], name="approver_unique"),
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=9),
                                   name="approver_level_1_to_9"),
        ]

    def __str__(self):
        return f"{self.customer} (level {self.level}) for {self.company}"

    def clean(self):
        if self.customer_id and self.company_id and self.customer.company_id != self.company_id:
            raise ValidationError({"customer": "An approver must belong to the company."})


class Address(TimeStampedModel):
    public_id = PublicIdField(prefix="adr")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    label = models.CharField(max_length=60, blank=True, help_text="e.g. 'Warehouse', 'Home'")
    full_name = models.CharField(max_length=200)
    company_name = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, help_text="Parish / state")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166 alpha-2")
    phone = models.CharField(max_length=40, blank=True)
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["-is_default_shipping", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | Q(company__isnull=False),
                name="address_has_owner",
                violation_error_message="An address belongs to a customer or a company: "
                                        "give one of them.",
            ),
        ]

    def __str__(self):
        return f"{self.full_name}, {self.line1}, {self.city} {self.country}"

    POSTAL_FIELDS = ("full_name", "company_name", "line1", "line2", "city", "region",
                     "postal_code", "country", "phone")

    @property
    def postal(self) -> dict:
        """The address as carts and orders store it (blank parts left out)."""
        return {name: getattr(self, name) for name in self.POSTAL_FIELDS if getattr(self, name)}
