"""Serializer fields shared by every API."""

import json

from rest_framework import serializers

MAX_METADATA_BYTES = 16 * 1024


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class MetadataField(serializers.DictField):
    """Free-form JSON for the client's own use: at most 16 KiB, no NUL characters (which
    PostgreSQL's jsonb cannot hold)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Free-form JSON object (≤ 16 KiB), returned as sent.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _has_nul(value):
            raise serializers.ValidationError("NUL characters are not allowed.", code="invalid")
        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError("Metadata is limited to 16 KiB.", code="invalid")
        return value
