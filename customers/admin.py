from django.contrib import admin
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from customers.models import Address, Company, CompanyApprover, Customer
from customers.resources import CompanyResource, CustomerResource
from orderflow.admin import ImportExportAdmin


class CompanyApproverInline(TabularInline):
    model = CompanyApprover
    extra = 0
    autocomplete_fields = ["customer"]


class AddressInline(StackedInline):
    model = Address
    extra = 0
    exclude = ["public_id"]


@admin.register(Company)
class CompanyAdmin(ImportExportAdmin):
    resource_classes = [CompanyResource]
    list_display = ["code", "name", "payment_terms", "credit_limit", "currency", "price_list",
                    "is_active"]
    list_filter = ["payment_terms", "is_active", "price_list", "currency"]
    search_fields = ["code", "name", "email", "tax_id"]
    list_select_related = ["price_list"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [CompanyApproverInline, AddressInline]


@admin.register(Customer)
class CustomerAdmin(ImportExportAdmin):
    resource_classes = [CustomerResource]
    list_display = ["email", "first_name", "last_name", "company", "is_active", "created_at"]
    list_filter = ["is_active", "accepts_marketing", "company"]
    search_fields = ["email", "first_name", "last_name", "phone", "company__name"]
    list_select_related = ["company"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    autocomplete_fields = ["company", "user"]
    inlines = [AddressInline]


@admin.register(Address)
class AddressAdmin(ModelAdmin):
    list_display = ["full_name", "line1", "city", "country", "customer", "company"]
    list_filter = ["country"]
    search_fields = ["full_name", "line1", "city", "customer__email", "company__name"]
    list_select_related = ["customer", "company"]
    readonly_fields = ["public_id"]
