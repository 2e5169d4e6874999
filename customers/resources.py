from import_export import fields
from import_export.widgets import ForeignKeyWidget

from catalog.models import PriceList
from customers.models import Company, Customer
from orderflow.resources import BaseResource


class CompanyResource(BaseResource):
    price_list = fields.Field(attribute="price_list", column_name="price_list",
                              widget=ForeignKeyWidget(PriceList, field="code"))

    class Meta(BaseResource.Meta):
        model = Company
        import_id_fields = ["code"]
        fields = [
            "code", "name", "email", "phone", "tax_id", "credit_limit", "currency",
            "payment_terms", "price_list", "is_active",
        ]
        export_order = fields


class CustomerResource(BaseResource):
    company = fields.Field(attribute="company", column_name="company",
                           widget=ForeignKeyWidget(Company, field="code"))

    class Meta(BaseResource.Meta):
        model = Customer
        import_id_fields = ["email"]
        fields = [
            "email", "first_name", "last_name", "phone", "company", "is_active",
            "accepts_marketing",
        ]
        export_order = fields

    def before_import_row(self, row, **kwargs):
        if row.get("email"):
            row["email"] = str(row["email"]).strip().lower()
