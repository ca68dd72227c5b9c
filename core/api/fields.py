"""Strict serializer fields: a JSON API should say "wrong type" instead of guessing ("20" is not 20)."""

from datetime import UTC

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": _("A whole number is required.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    default_error_messages = {"invalid": _("A number is required.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


def _nul_documented(field: serializers.CharField) -> None:
    """DRF's own NUL check, swapped for NO_NUL (the same refusal, which the schema then shows as a pattern).
    A field with a pattern of its own keeps DRF's check: one pattern is all the schema can show."""
    validators = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]
    if not any(isinstance(v, RegexValidator) for v in validators):
        field.validators = [*validators, NO_NUL]


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": _("Text is required.")}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        _nul_documented(self)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": _("true or false is required.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC to the second, as in the seed design's examples: 2024-01-01T12:00:00Z."""

    def to_representation(self, value):
        return self.text(value)

    @staticmethod
    def text(value) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# DRF refuses NUL characters in any text anyway; with this validator the schema's pattern says so, and a
# client generating input from the schema never sends what will be refused.
NO_NUL = RegexValidator(r"^[^\x00]*$", message=_("Null characters are not allowed."))


class TextFilterField(serializers.CharField):
    """A free-text query parameter (NUL refused, and documented: NO_NUL)."""

    def __init__(self, **kwargs):
        # Blank (or only spaces, trimmed to blank) filters nothing, as if left out.
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)
        _nul_documented(self)
