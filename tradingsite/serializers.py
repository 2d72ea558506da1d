"""Serializer building blocks shared by the apps' APIs."""

import copy

from rest_framework import serializers


class OutputSerializer(serializers.ModelSerializer):
    """A read-side ModelSerializer whose fields are derived from the model once per class.

    DRF re-derives a ModelSerializer's fields from model introspection for every instance, which was
    about a tenth of an order placement's time; here each instance gets a copy of fields built once.
    """

    def get_fields(self):
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()
            cls._fields_template = template
        return copy.deepcopy(template)
