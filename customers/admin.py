from django import forms
from django.contrib import admin
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from customers.models import Address, Company, CompanyApprover, Customer
from customers.resources import CompanyResource, CustomerResource
from customers.selectors import customer_default_addresses
from orderflow.admin import DayRangeFilter, ImportExportAdmin
from orderflow.display import badge, money
from orderflow.money import quantize
from orders.constants import InvoiceStatus
from orders.models import Invoice
from orders.selectors import (
    company_open_orders,
    company_outstanding,
    customer_recent_orders,
    invoice_overdue_filter,
)
from quotes.constants import LIVE_STATUSES
from quotes.models import Quote


class CompanyApproverInline(TabularInline):
    model = CompanyApprover
    extra = 0
    autocomplete_fields = ["customer"]


class AddressInline(StackedInline):
    model = Address
    extra = 0
    exclude = ["public_id"]


class CompanyForm(forms.ModelForm):
    """The credit limit in the currency's minor unit (``500000.00``, not ``500000.0000``)."""

    class Meta:
        model = Company
        fields = ["code", "name", "email", "phone", "tax_id", "credit_limit", "currency",
                  "payment_terms", "price_list", "is_active", "metadata"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.currency:
            self.initial["credit_limit"] = quantize(self.instance.credit_limit,
                                                    self.instance.currency)


@admin.register(Company)
class CompanyAdmin(ImportExportAdmin):
    resource_classes = [CompanyResource]
    change_form_template = "admin/customers/company/change_form.html"
    list_display = ["code", "name", "payment_terms", "credit_limit_display", "price_list",
                    "is_active"]
    list_filter = ["payment_terms", "is_active", "price_list", "currency"]
    search_fields = ["code", "name", "email", "tax_id"]
    list_select_related = ["price_list"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    form = CompanyForm
    fieldsets = [
        (None, {"fields": ["code", "name", "email", "phone", "tax_id"]}),
        ("Credit and prices", {"fields": ["credit_limit", "currency", "payment_terms",
                                          "price_list", "is_active"]}),
        ("Details", {"classes": ["collapse"],
                     "fields": ["metadata", "public_id", "created_at", "updated_at"]}),
    ]
    inlines = [CompanyApproverInline, AddressInline]

    @admin.display(description="credit limit", ordering="credit_limit")
    def credit_limit_display(self, obj):
        return money(obj.credit_limit, obj.currency)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        company = self.get_object(request, object_id)
        extra = {}
        if company is not None:
            outstanding = company_outstanding(company=company)
            unpaid = Invoice.objects.filter(company=company, status=InvoiceStatus.ISSUED
                                            ).order_by("due_date", "id")
            overdue = set(unpaid.filter(invoice_overdue_filter()).values_list("pk", flat=True))
            extra = {
                "company": company,
                "outstanding": outstanding,
                "available": max(company.credit_limit - outstanding, 0),
                "over_limit": outstanding > company.credit_limit,
                "approvers": company.approvers.select_related("customer").order_by("level", "id"),
                "open_orders": [(order, badge(order.status, order.get_status_display()))
                                for order in company_open_orders(company=company)],
                "unpaid_invoices": [(invoice, invoice.pk in overdue)
                                    for invoice in unpaid.select_related("order")],
                "live_quotes": [(quote, badge(quote.status, quote.get_status_display()))
                                for quote in Quote.objects.filter(
                                    company=company, status__in=LIVE_STATUSES)
                                .select_related("current").order_by("-created_at", "-id")],
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})


@admin.register(Customer)
class CustomerAdmin(ImportExportAdmin):
    resource_classes = [CustomerResource]
    list_display = ["email", "first_name", "last_name", "company", "is_active", "created_at"]
    list_filter = ["is_active", "accepts_marketing", "company", ("created_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["email", "first_name", "last_name", "phone", "company__name"]
    list_select_related = ["company"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    autocomplete_fields = ["company", "user"]
    fieldsets = [
        (None, {"fields": ["email", "first_name", "last_name", "phone", "company", "user",
                           "is_active", "accepts_marketing"]}),
        ("Details", {"classes": ["collapse"],
                     "fields": ["metadata", "public_id", "created_at", "updated_at"]}),
    ]
    inlines = [AddressInline]
    change_form_template = "admin/customers/customer/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        extra = {}
        if customer is not None:
            shipping, billing = customer_default_addresses(customer=customer)
            company = customer.company
            outstanding = company_outstanding(company=company) if company else None
            extra = {
                "customer": customer,
                "company_outstanding": outstanding,
                "company_available": (max(company.credit_limit - outstanding, 0)
                                      if company else None),
                "default_shipping": shipping.postal if shipping else None,
                "default_billing": billing.postal if billing else None,
                "recent_orders": [(order, badge(order.status, order.get_status_display()))
                                  for order in customer_recent_orders(customer=customer)],
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})


@admin.register(Address)
class AddressAdmin(ModelAdmin):
    list_display = ["full_name", "line1", "city", "country", "customer", "company"]
    list_filter = ["country"]
    search_fields = ["full_name", "line1", "city", "customer__email", "company__name"]
    list_select_related = ["customer", "company"]
    readonly_fields = ["public_id"]
