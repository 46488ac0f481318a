"""Reading list values from CSV text: first column, optional header, per-line rejections."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from leadgate.errors import InvalidRequest
from leadgate.lists.schemas import MAX_VALUE_LENGTH, Rejected

# A first cell equal to one of these (any case) is taken for a header when header="auto".
HEADER_WORDS = frozenset(
    {
        "value",
        "values",
        "domain",
        "domains",
        "email",
        "emails",
        "company",
        "companies",
        "company name",
        "name",
        "names",
        "account",
        "accounts",
        "keyword",
        "keywords",
        "zip",
        "zipcode",
        "zip code",
        "phone",
        "phones",
        "country",
        "countries",
        "title",
        "job title",
    }
)


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class ParsedValues:
    values: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    header: str | None = None


def decode(body: bytes) -> str:
    """UTF-8 text (BOM or not) or InvalidRequest `not_text`: a binary file is refused whole."""
    if b"\x00" in body[:65536]:
        raise InvalidRequest("The file is not text (it contains NUL bytes).", code="not_text")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"The file is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8 CSV.",
            code="not_text",
        ) from exc


def clean(raw: str) -> tuple[str | None, str | None]:
    """A trimmed list value, or (None, reason) when it cannot be one ((None, None) = blank)."""
    value = raw.strip()
    if not value:
        return None, None
    if len(value) > MAX_VALUE_LENGTH:
        return None, f"longer than {MAX_VALUE_LENGTH} characters"
    if CONTROL.search(value):
        return None, "contains control characters"
    return value, None


def _is_header(cell: str, list_name: str) -> bool:
    word = cell.strip().lower()
    return word in HEADER_WORDS or word == list_name.strip().lower()


def first_cell(line: str) -> str:
    """The first CSV column of one line (values never span lines, so a stray quote stays local)."""
    if '"' not in line and "," not in line:
        return line
    try:
        row = next(csv.reader([line], strict=True), [])
    except csv.Error:
        row = [line.split(",", 1)[0]]
    return row[0] if row else ""


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str, *, neutralise: bool = False) -> str:
    """One CSV cell (RFC 4180 quoting). `neutralise`: a value a spreadsheet would run as a
    formula is prefixed with `'` (OWASP), so a file people open shows it as text."""
    if neutralise and value.startswith(FORMULA_STARTS):
        value = "'" + value
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def parse(
    text: str,
    *,
    list_name: str = "",
    header: str = "auto",
    on_line: Callable[[int], None] | None = None,
) -> ParsedValues:
    """Values of the first column; `header`: auto (a known word or the list name), yes or no."""
    out = ParsedValues()
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        if on_line is not None and number % 50_000 == 0:
            on_line(number)
        cell = first_cell(line)
        if number == 1 and (header == "yes" or (header == "auto" and _is_header(cell, list_name))):
            out.header = cell.strip()
            continue
        value, reason = clean(cell)
        if value is not None:
            out.values.append(value)
        elif reason is not None:
            out.rejected.append(Rejected(line=number, reason=reason))
    return out
