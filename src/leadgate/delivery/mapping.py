"""Mapping our form onto a client's form: suggestions and the check that nothing required is
left out (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any

LABEL_SIMILARITY = 0.8


def _norm(text: str) -> str:
    """`First Name`, `first_name` and `firstName` all become `firstname`."""
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def suggest(
    client_fields: Sequence[Mapping[str, Any]], own_fields: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """A suggested own field for each client field: same name, then the same ignoring case and
    spacing, then the most similar label (each own field is suggested once)."""
    own_names = [str(f["name"]) for f in own_fields]
    taken: set[str] = set()
    out: dict[str, str] = {}

    def pick(client: str, own: str) -> None:
        out[client] = own
        taken.add(own)

    for cf in client_fields:
        if cf["name"] in own_names and cf["name"] not in taken:
            pick(cf["name"], cf["name"])
    by_norm = {_norm(n): n for n in own_names}
    for cf in client_fields:
        if cf["name"] in out:
            continue
        own = by_norm.get(_norm(cf["name"]))
        if own and own not in taken:
            pick(cf["name"], own)
    for cf in client_fields:
        if cf["name"] in out:
            continue
        target = _norm(str(cf.get("label") or cf["name"]))
        best, score = None, 0.0
        for of in own_fields:
            if of["name"] in taken:
                continue
            for text in (str(of.get("label") or ""), str(of["name"])):
                ratio = SequenceMatcher(None, target, _norm(text)).ratio() if text else 0.0
                if ratio > score:
                    best, score = str(of["name"]), ratio
        if best is not None and score >= LABEL_SIMILARITY:
            pick(cf["name"], best)
    return out


def problems(
    mapping: Mapping[str, str],
    client_fields: Sequence[Mapping[str, Any]],
    own_fields: Sequence[Mapping[str, Any]],
) -> list[str]:
    """What is wrong with a mapping, in plain words (empty when it fits both forms)."""
    client_names = {str(f["name"]) for f in client_fields}
    own_names = {str(f["name"]) for f in own_fields}
    out = []
    for f in client_fields:
        if f.get("required") and not mapping.get(str(f["name"])):
            out.append(f"the client's required field {f['name']} is not mapped")
    for client, own in mapping.items():
        if client not in client_names:
            out.append(f"the client's form has no field {client} any more")
        if own not in own_names:
            out.append(f"our form has no field {own} (mapped to the client's {client})")
    return out


def apply(mapping: Mapping[str, str], data: Mapping[str, Any]) -> dict[str, Any]:
    """The lead data in the client's field names (unmapped and empty values are left out)."""
    out = {}
    for client, own in mapping.items():
        value = data.get(own)
        if value is not None and value != "":
            out[client] = value
    return out
