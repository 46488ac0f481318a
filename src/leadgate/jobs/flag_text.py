"""How lead values and characters appear in flag texts: readable, short, nothing invisible."""

from collections.abc import Iterable

SHOWN_CHARS = 60


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """A lead value for a message, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def char_name(char: str) -> str:
    """A character as people can read it: itself when printable and not a space, else U+XXXX."""
    if char.isprintable() and not char.isspace():
        return f'"{char}"'
    return f"U+{ord(char):04X}"


def listing(items: Iterable[str]) -> str:
    """Items joined as prose: "a", "a and b", "a, b and c"."""
    found = list(items)
    if len(found) <= 1:
        return "".join(found)
    return ", ".join(found[:-1]) + " and " + found[-1]


def sentence(parts: Iterable[str]) -> str:
    """Clauses ("the field a ...") joined with semicolons, the first one capitalised."""
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]
