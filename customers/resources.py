from import_export import fields

from catalog.models import PriceList
from customers.models import Address, Company, Customer
from orderflow.resources import BaseResource, CachedForeignKeyWidget


class CompanyResource(BaseResource):
    price_list = fields.Field(attribute="price_list", column_name="price_list",
                              widget=CachedForeignKeyWidget(PriceList, field="code"))

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
                           widget=CachedForeignKeyWidget(Company, field="code"))

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
        super().before_import_row(row, **kwargs)


class AddressResource(BaseResource):
    """Addresses keyed by owner and label: the owner is a ``customer`` (e-mail) or a
    ``company`` (code), the other column left empty; the same owner and label again updates
    the address instead of adding one."""

    customer = fields.Field(attribute="customer", column_name="customer",
                            widget=CachedForeignKeyWidget(Customer, field="email"))
    company = fields.Field(attribute="company", column_name="company",
                           widget=CachedForeignKeyWidget(Company, field="code"))

    class Meta(BaseResource.Meta):
        model = Address
        import_id_fields = ["customer", "company", "label"]
        fields = [
            "customer", "company", "label", "full_name", "company_name", "line1", "line2",
            "city", "region", "postal_code", "country", "phone", "is_default_shipping",
            "is_default_billing",
        ]
        export_order = fields

    def before_import_row(self, row, **kwargs):
        for column, clean in (("customer", str.lower), ("country", str.upper)):
            if row.get(column):
                row[column] = clean(str(row[column]).strip())
        super().before_import_row(row, **kwargs)
