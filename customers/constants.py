from django.db import models


class PaymentTerms(models.TextChoices):
    COD = "COD", "Cash on delivery"
    NET15 = "NET15", "Net 15 days"
    NET30 = "NET30", "Net 30 days"
    NET60 = "NET60", "Net 60 days"


# Days from invoice to due date.
TERMS_DAYS = {
    PaymentTerms.COD: 0,
    PaymentTerms.NET15: 15,
    PaymentTerms.NET30: 30,
    PaymentTerms.NET60: 60,
}
