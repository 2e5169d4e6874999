import django_filters

from quotes.constants import QuoteRequestStatus, QuoteStatus
from quotes.models import Quote, QuoteRequest


class QuoteFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=QuoteStatus.choices)
    company = django_filters.CharFilter(field_name="company__code",
                                        help_text="Company code (staff).")

    class Meta:
        model = Quote
        fields = ["status", "company"]


class QuoteRequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=QuoteRequestStatus.choices)

    class Meta:
        model = QuoteRequest
        fields = ["status"]
