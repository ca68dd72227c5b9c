"""The one JSON parser of the API: strict JSON, and a clear, translated invalid_json for anything else.

Beyond DRF's parser it refuses what different JSON parsers read differently (a key given twice: one takes
the first, another the last), nesting deeper than any request here needs (which would otherwise exhaust
Python's recursion limit and end as a 500), and numbers longer than any field takes.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 40


class _Refused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _object(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(_('The JSON object has the key "%(key)s" more than once.') % {"key": key[:100]})
        seen[key] = value
    return seen


def _constant(name):
    raise _Refused(_("%(name)s is not a JSON number.") % {"name": name})


def _number(text, convert):
    if len(text) > MAX_NUMBER_DIGITS:
        raise _Refused(_("A number in the request body is too long (at most %(max)d characters).")
                       % {"max": MAX_NUMBER_DIGITS})
    return convert(text)


def _too_deep(text: str) -> bool:
    # Cheap for every real request: only a body with many brackets is scanned.
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def is_utf8(encoding: str | None) -> bool:
    """True when a charset parameter names UTF-8 (utf-8, UTF8, utf_8...); False for any other or no codec."""
    import codecs

    try:
        return codecs.lookup(encoding or "utf-8").name == "utf-8"
    except (LookupError, ValueError, TypeError):
        return False


def parse_json(raw: bytes, encoding: str = "utf-8"):
    """Parse a request body; raise ParseError (invalid_json) with a message for the user.

    The body is UTF-8 (RFC 8259) whatever the charset parameter says: another codec (utf-7, utf-16,
    unicode_escape) could carry a prompt past the filters, and a made-up one would end in a 500."""
    if not is_utf8(encoding):
        raise ParseError(_("The request body must be UTF-8 JSON; the charset parameter names another encoding."))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError(_("The request body is not valid %(encoding)s text.") % {"encoding": "UTF-8"})
    if _too_deep(text):
        raise ParseError(_("The JSON in the request body is nested too deeply (at most %(max)d levels).")
                         % {"max": MAX_DEPTH})
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=lambda s: _number(s, int),
            parse_float=lambda s: _number(s, float),
        )
    except _Refused as refused:
        raise ParseError(refused.message) from None
    except json.JSONDecodeError as err:
        raise ParseError(_("The request body is not valid JSON (line %(line)d, column %(column)d).")
                         % {"line": err.lineno, "column": err.colno}) from None
    except (ValueError, RecursionError):
        raise ParseError(_("The request body is not valid JSON.")) from None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        return parse_json(stream.read() if stream is not None else b"", encoding)
