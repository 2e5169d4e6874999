"""Filter pieces shared by every list endpoint."""

import django_filters
from django import forms

from orderflow.config import FALSE_VALUES, TRUE_VALUES


class StrictBooleanField(forms.Field):
    """true/false/1/0/yes/no; anything else is a validation error, not a silent 'no filter'."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField
