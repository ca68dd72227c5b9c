"""The Simplified Chinese catalogue (locale/zh_Hans) is complete, well-formed, compiled and in step with the code.

When one of these fails after you added or changed a user-facing string:

    IMAGEGEN_DATA_DIR=/tmp/ig-i18n .venv/bin/python manage.py makemessages -l zh_Hans \\
        --ignore=.venv --ignore=node_modules --ignore=var --ignore=static/vendor --no-obsolete
    # translate the new entries in locale/zh_Hans/LC_MESSAGES/django.po, drop any "#, fuzzy"
    IMAGEGEN_DATA_DIR=/tmp/ig-i18n .venv/bin/python manage.py compilemessages -l zh_Hans \\
        --ignore=.venv --ignore=node_modules --ignore=var

and commit the .po and the .mo together. (Keep the --ignore options on compilemessages too: without them it
also recompiles the catalogues of the packages inside .venv.)

No dependency beyond the standard library: the .po is read by the small parser below, the .mo by `gettext`.
"""

from __future__ import annotations

import ast
import gettext as stdlib_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
LC_MESSAGES = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

# Translations other tests (and API clients) rely on word for word.
REQUIRED = {
    "The prompt must not be empty.": "提示词不能为空",
    "Task not found.": "任务不存在",
    "Too many unfinished tasks (limit %(limit)d). Wait for some to finish.":
        "超出并发任务限制（上限 %(limit)d 个未完成任务），请等待部分任务完成后再试。",
    "No such API endpoint: %(path)s": "接口不存在：%(path)s",
    "Image not found.": "图片不存在",
    "History item not found.": "历史记录不存在",
}


# --- a minimal .po reader ------------------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # plural index -> text; a singular entry uses 0
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def label(self) -> str:
        context = f" (context {self.msgctxt!r})" if self.msgctxt is not None else ""
        return f"django.po line {self.line}: {self.msgid!r}{context}"


_PO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _po_string(token: str, line: int) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"django.po line {line}: expected a quoted string, got {token!r}")
    return re.sub(r"\\(.)", lambda m: _PO_ESCAPES.get(m[1], m[1]), token[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], multi-line strings, "#," flags.

    Obsolete entries ("#~") are skipped. Anything else unexpected raises, naming the line.
    """
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int] | None = None  # the keyword that continuation lines ("...") extend
    started = False  # current has seen a keyword

    def finish() -> None:
        nonlocal current, target, started
        if started:
            entries.append(current)
        current, target, started = Entry(), None, False

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if current.msgstr:
                finish()
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"django.po line {number}: a string continues nothing")
            _append(current, target, _po_string(line, number))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and current.msgstr:
            finish()
        if keyword in ("msgctxt", "msgid", "msgid_plural"):
            target = (keyword, 0)
        elif keyword == "msgstr":
            target = ("msgstr", 0)
        elif match := re.fullmatch(r"msgstr\[(\d+)\]", keyword):
            target = ("msgstr", int(match[1]))
        else:
            raise ValueError(f"django.po line {number}: unexpected {raw!r}")
        if not started:
            current.line, started = number, True
        _set(current, target, _po_string(rest.strip(), number))
    finish()
    return entries


def _set(entry: Entry, target: tuple[str, int], text: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] = text
    else:
        setattr(entry, name, text)


def _append(entry: Entry, target: tuple[str, int], text: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] += text
    else:
        setattr(entry, name, getattr(entry, name) + text)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    assert PO_FILE.is_file(), f"{PO_FILE} is missing; run makemessages -l zh_Hans"
    return parse_po(PO_FILE)


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    """The translatable entries (everything but the header)."""
    return [e for e in entries if not e.is_header]


# --- (a) complete, nothing fuzzy -----------------------------------------------------------------------------


def test_parser_reads_the_catalogue(entries, messages):
    assert sum(e.is_header for e in entries) == 1
    assert len(messages) > 10
    assert any(e.msgid == "Task not found." for e in messages)


def test_header_is_usable(entries):
    header = next(e for e in entries if e.is_header)
    assert "fuzzy" not in header.flags, "the header is marked fuzzy; msgfmt would ignore it"
    assert "charset=UTF-8" in header.msgstr[0]
    assert "Plural-Forms:" in header.msgstr[0]


def test_every_message_is_translated_and_not_fuzzy(messages):
    problems = []
    for entry in messages:
        if "fuzzy" in entry.flags:
            problems.append(f"{entry.label()} is marked fuzzy")
        if not entry.msgstr or any(not text.strip() for text in entry.msgstr.values()):
            problems.append(f"{entry.label()} has no translation")
    assert not problems, "\n".join(problems)


def test_no_duplicate_messages(messages):
    seen: dict[tuple, int] = {}
    duplicates = []
    for entry in messages:
        key = (entry.msgctxt, entry.msgid)
        if key in seen:
            duplicates.append(f"{entry.label()} duplicates line {seen[key]}")
        seen[key] = entry.line
    assert not duplicates, "\n".join(duplicates)


# --- (b) placeholders survive translation --------------------------------------------------------------------

_FORMAT_SPEC = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conversion>[diouxXeEfFgGcrsa%])"
)


def placeholders(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The named placeholders (as a set) and the bare ones (their conversions, in order) of a %-format string."""
    named, bare = set(), []
    for match in _FORMAT_SPEC.finditer(text):
        if match["conversion"] == "%":
            continue
        if match["name"] is not None:
            named.add(match["name"])
        else:
            bare.append(match["conversion"])
    return frozenset(named), tuple(bare)


def test_placeholder_parser():
    assert placeholders("%(a)s and %(b)d, %s of %d, 100%%") == (frozenset({"a", "b"}), ("s", "d"))


def test_translations_keep_the_placeholders(messages):
    """Same set of %(name)s; same bare %s/%d, in the same order (they fill in positionally).

    Entries flagged "no-python-format" are skipped: their "%" is a literal character.
    """
    problems = []
    for entry in messages:
        if "no-python-format" in entry.flags:
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural is not None else [])
        allowed = {placeholders(source) for source in sources}
        for index, text in entry.msgstr.items():
            found = placeholders(text)
            if found not in allowed:
                want = " or ".join(f"{sorted(n)} + bare {list(b)}" for n, b in allowed)
                problems.append(
                    f"{entry.label()} msgstr[{index}] has {sorted(found[0])} + bare {list(found[1])}, wants {want}"
                )
    assert not problems, "\n".join(problems)


# --- (c) the committed .mo is the compiled .po ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mo() -> stdlib_gettext.GNUTranslations:
    assert MO_FILE.is_file(), f"{MO_FILE} is missing; run compilemessages -l zh_Hans"
    with MO_FILE.open("rb") as fh:
        return stdlib_gettext.GNUTranslations(fh)


def _n_for_form(catalogue: stdlib_gettext.GNUTranslations, index: int) -> int | None:
    return next((n for n in range(1000) if catalogue.plural(n) == index), None)


def test_mo_matches_po(messages, mo):
    """Every .po translation comes back out of the .mo; so a .po edited without recompiling fails here."""
    stale = []
    for entry in messages:
        for index, expected in entry.msgstr.items():
            if entry.msgid_plural is None:
                got = mo.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt is not None else mo.gettext(entry.msgid)
            else:
                n = _n_for_form(mo, index)
                if n is None:
                    stale.append(f"{entry.label()} has msgstr[{index}], a plural form the header does not define")
                    continue
                got = (
                    mo.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                    if entry.msgctxt is not None
                    else mo.ngettext(entry.msgid, entry.msgid_plural, n)
                )
            if got != expected:
                stale.append(f"{entry.label()}: the .mo gives {got!r}, the .po says {expected!r}")
    assert not stale, "django.mo is out of date; run compilemessages -l zh_Hans\n" + "\n".join(stale)


def test_mo_has_nothing_the_po_lacks(messages, mo):
    # GNUTranslations keeps its catalogue in _catalog: "ctxt\x04msgid" or msgid -> text, (msgid, n) for plurals.
    known = {e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}" for e in messages} | {""}
    extra = sorted({key[0] if isinstance(key, tuple) else key for key in mo._catalog} - known)
    assert not extra, "django.mo holds messages no longer in django.po; run compilemessages -l zh_Hans\n" + "\n".join(
        map(repr, extra)
    )


# --- (d) Django actually serves the translations -------------------------------------------------------------


@pytest.mark.parametrize(("msgid", "expected"), REQUIRED.items())
def test_required_translations(msgid, expected):
    with translation.override("zh-hans"):
        assert translation.gettext(msgid) == expected
    with translation.override("en"):
        assert translation.gettext(msgid) == msgid


def test_required_translations_format():
    with translation.override("zh-hans"):
        message = translation.gettext("No such API endpoint: %(path)s") % {"path": "/api/v1/nope"}
    assert message == "接口不存在：/api/v1/nope"


# --- (e) every literal string in the code is in the catalogue ------------------------------------------------

SKIPPED_DIRS = {ROOT / name for name in (".venv", "node_modules", "var", "static/vendor", "tests", "locale", "mutants")}

# _("..."), gettext("..."), gettext_lazy("..."), gettext_noop("...") whose whole first argument is one string
# literal on one line (the call itself may span lines).
_PY_CALL = re.compile(
    r"""(?<![\w.])(?:gettext_lazy|gettext_noop|gettext|_)\(\s*(?P<literal>(?P<q>["'])(?:\\.|(?!(?P=q))[^\\\n])*(?P=q))\s*[,)]"""
)
# {% translate "..." %} / {% trans '...' %}, optionally followed by options (context, as, noop).
_TEMPLATE_TAG = re.compile(
    r"""\{%-?\s*(?:translate|trans)\s+(?P<q>["'])(?P<text>(?:(?!(?P=q))[^\n])*)(?P=q)(?:\s[^%\n]*)?-?%\}"""
)


def _source_files(suffix: str):
    for path in sorted(ROOT.rglob(f"*{suffix}")):
        if any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(ROOT).parts[:-1]):
            continue
        if any(path.is_relative_to(skipped) for skipped in SKIPPED_DIRS):
            continue
        yield path


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def scan_source() -> dict[str, list[str]]:
    """Translatable literals in the project's .py and .html files -> where they occur ("path:line").

    A deliberately simple regex scanner, not a replacement for makemessages. It finds:
      * Python: _("..."), gettext("..."), gettext_lazy("..."), gettext_noop("...") (also '...'), when the first
        argument is a single one-line string literal, immediately followed by "," or ")";
      * templates: {% translate "..." %} and {% trans "..." %} with a one-line literal, with or without
        context/as/noop options ("%" is doubled, as makemessages does for these tags).
    It does not see: implicitly concatenated or multi-line literals, triple-quoted or f-/r-/b-prefixed strings,
    ngettext/pgettext/npgettext, other aliases of gettext, {% blocktranslate %}, filtered literals
    ({% translate "x"|upper %}), strings in .txt/.js files. Message context is ignored (only msgids are compared).
    A call in a comment or docstring is picked up too. Skipped directories: .venv, node_modules, var,
    static/vendor, tests, locale, mutants (make mutants' copies) and any hidden directory.
    """
    found: dict[str, list[str]] = {}

    for path in _source_files(".py"):
        text = path.read_text(encoding="utf-8")
        for match in _PY_CALL.finditer(text):
            try:
                msgid = ast.literal_eval(match["literal"])
            except (ValueError, SyntaxError):
                continue
            if msgid:
                found.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{_line_of(text, match.start())}")

    for path in _source_files(".html"):
        text = path.read_text(encoding="utf-8")
        for match in _TEMPLATE_TAG.finditer(text):
            msgid = match["text"].replace("%", "%%")
            if msgid:
                found.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{_line_of(text, match.start())}")

    return found


def test_scanner_finds_literals():
    samples = {
        "a.py": 'x = _("One")\ny = gettext_lazy(\n    "Two",\n)\nz = gettext(\'Say "hi"\')\n'
                'not_this = _("a" "b")\nnor = obj._("c")\nnor_this = _(f"{x}")\nw = gettext_noop("Three")\n',
        "b.html": '{% translate "Four" %}{% trans \'Five\' %}{% translate "Six" context "menu" %}'
                  '{% translate "100%" as pct %}{% blocktranslate %}Not me{% endblocktranslate %}',
    }
    py = {ast.literal_eval(m["literal"]) for m in _PY_CALL.finditer(samples["a.py"])}
    html = {m["text"] for m in _TEMPLATE_TAG.finditer(samples["b.html"])}
    assert py == {"One", "Two", 'Say "hi"', "Three"}
    assert html == {"Four", "Five", "Six", "100%"}


def test_every_source_string_is_in_the_catalogue(messages):
    found = scan_source()
    assert any(where.endswith(".py") or ".py:" in where for places in found.values() for where in places)
    assert any(".html:" in where for places in found.values() for where in places)
    msgids = {entry.msgid for entry in messages}
    missing = [f"{msgid!r} (at {', '.join(places)})" for msgid, places in sorted(found.items()) if msgid not in msgids]
    assert not missing, (
        "These strings are not in locale/zh_Hans/LC_MESSAGES/django.po; run makemessages -l zh_Hans, translate "
        "them and run compilemessages (see this module's docstring):\n" + "\n".join(missing)
    )
