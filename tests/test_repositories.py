"""Tenant scoping stays structural: queries on instance-owned rows are built in repositories only.

Every table with an `instance_id` belongs to one instance. A query on one of them, an ORM
`select`/`update`/`delete`/`insert`/`session.get` naming its model or a SQL string naming its
table, may be written only in a domain's `repository.py` (or `kit/repository.py`, the scoping
helper itself), where each is reviewed for its `instance_id` condition. Endpoints, pages,
services and tasks call those functions. (The idea of polar's org-scope linter.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import leadgate
from leadgate import models  # noqa: F401  (every model registered on Base)
from leadgate.db import Base

SRC = Path(leadgate.__file__).parent
QUERY_CALLS = {"select", "update", "delete", "insert", "get", "get_one", "exists"}


def instance_owned() -> dict[str, str]:
    """Model class name -> table name, for every table with an instance_id column."""
    return {
        mapper.class_.__name__: mapper.local_table.name  # type: ignore[attr-defined]
        for mapper in Base.registry.mappers
        if "instance_id" in mapper.local_table.columns  # type: ignore[attr-defined]
    }


def _is_allowed(path: Path) -> bool:
    rel = path.relative_to(SRC)
    return rel.name == "repository.py" or rel.parts[0] == "migrations"


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def offences(path: Path, owned: dict[str, str], root: Path = SRC) -> list[str]:
    """Where a module builds a query on an instance-owned model or table."""
    tree = ast.parse(path.read_text(), filename=str(path))
    tables = "|".join(sorted(map(re.escape, owned.values()), key=len, reverse=True))
    sql = re.compile(rf"\b(?:FROM|JOIN|UPDATE|INTO)\s+(?:{tables})\b", re.IGNORECASE)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in QUERY_CALLS and node.args:
                models_named = _names_in(node.args[0]) & set(owned)
                if models_named:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {name}({models_named})")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and sql.search(node.value)
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno} SQL on {sql.search(node.value)}")
    return found


def test_instance_owned_models_are_known() -> None:
    owned = instance_owned()
    assert {"Lead", "Campaign", "ProcessrJob", "ValidationList", "Delivery"} <= set(owned)
    assert "Instance" not in owned


def test_queries_on_instance_owned_rows_live_in_repositories() -> None:
    owned = instance_owned()
    found = [
        offence
        for path in sorted(SRC.rglob("*.py"))
        if not _is_allowed(path)
        for offence in offences(path, owned)
    ]
    assert not found, "queries outside a repository:\n" + "\n".join(found)


def test_the_check_finds_a_query_outside_a_repository(tmp_path: Path) -> None:
    module = tmp_path / "pages.py"
    module.write_text(
        "from sqlalchemy import select\nfrom leadgate.leads.models import Lead\n"
        "q = select(Lead.id)\nr = scope.get(Lead, 1)\n"
        "s = 'SELECT id FROM leads WHERE id = 1'\nok = select(1)\n"
    )
    assert len(offences(module, instance_owned(), tmp_path)) == 3
