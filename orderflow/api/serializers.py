"""The base of every input serializer: DRF's validation, with its fields copied cheaply.

DRF gives each serializer instance its own fields by deep-copying the class's declared
fields, and a field's deep copy runs its ``__init__`` again (validators, error messages):
about a third of validating a small storefront request. An :class:`InputSerializer` class
deep-copies its declared fields once, DRF's way, and keeps that unbound set; each instance
then gets shallow copies of it. A shallow copy is a new field object, so the instance binds
it (name, parent, source) and may change it without touching another instance, as with
DRF's copy. What the copies share is what DRF never changes after ``__init__``: validators,
error messages, choices. A nested serializer's copy builds its own fields when it is used; a
list or dict field's ``child`` is copied with it and bound to the copy, so no bound field is
ever shared.
"""

from __future__ import annotations

import copy

from rest_framework import serializers


def _copy(field: serializers.Field) -> serializers.Field:
    """A new field object with ``field``'s attributes (unbound, as the prototype is); a
    ``child`` field (list, dict, ``many=True``), which the container's ``__init__`` bound to
    it, is copied too and its parent is the copy."""
    if "fields" in field.__dict__:  # a serializer whose fields were built: DRF's copy
        return copy.deepcopy(field)
    new = object.__new__(type(field))
    new.__dict__.update(field.__dict__)
    child = field.__dict__.get("child")
    if isinstance(child, serializers.Field):
        new.child = _copy(child)
        new.child.parent = new
    return new


class InputSerializer(serializers.Serializer):
    """A ``Serializer`` for request bodies (see the module's docstring)."""

    @classmethod
    def _unbound_fields(cls) -> dict[str, serializers.Field]:
        fields = cls.__dict__.get("_unbound_fields_cache")
        if fields is None:
            fields = copy.deepcopy(cls._declared_fields)
            cls._unbound_fields_cache = fields
        return fields

    def get_fields(self):
        return {name: _copy(field) for name, field in self._unbound_fields().items()}
