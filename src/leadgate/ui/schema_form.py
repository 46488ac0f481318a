"""Forms generated from a job type's config JSON Schema, and posted forms read back as configs.

Each schema property becomes one input, named by its dotted path (`config.list_id`,
`config.sections.0.field_name`) so that `errors[].loc` of an `InvalidRequest` lands beside it.

Schema keywords the form understands (beyond type, enum, default, title, description):

- `"x-options": true`: a dropdown whose choices come from the job type's options service
  (`POST /job-types/{type}/options`, in the UI `POST /ui/api/job-types/{type}/options`).
  Until a type declares it, the keys `field_name`, `Field_name` and `list_id` (and an array named
  `fields`) are options fields too: our campaign's fields, our lists.
- `"x-depends-on": ["API_Key", "Subdomain"]`: the dropdown is filled once those are; when they
  change the browser asks again, and an error of the options call shows beside the dropdown.
- `"x-secret": true` or `"format": "password"`: a password input, never filled in; when a saved
  job is edited, a blank one is left out of the parsed config, and the Processr keeps the stored
  secret (while what it is bound to stays the same).
- `"x-mapping": true` on an object of strings: a mapping editor, one dropdown of our fields per
  field of the other side (`config.Field_mapping.<their field>`), filled by a `MappingLoader`
  once the required inputs are (or `"x-depends-on"`); it is posted back as a dict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadgate.kit.json_schema import is_secret as is_secret
from leadgate.ui.forms import Problems

IMPLIED_OPTION_KEYS = frozenset({"field_name", "Field_name", "list_id"})
IMPLIED_MULTI_OPTION_KEYS = frozenset({"fields"})
FIELD_NAME_KEYS = frozenset({"field_name", "Field_name", "field"})


@dataclass
class Choice:
    value: str
    label: str


@dataclass
class MappingRow:
    """One field of the other side in a mapping editor, and the field of ours chosen for it."""

    key: str
    label: str
    required: bool = False
    value: str = ""
    suggested: str | None = None
    error: str | None = None
    gone: bool = False  # still in the mapping, no longer in their form
    name: str = ""  # set by the form: `<mapping input>.<key>`


@dataclass
class MappingView:
    """What a mapping editor shows: a row per field of theirs, our fields, what is wrong."""

    rows: list[MappingRow]
    choices: list[Choice]
    issues: list[str] = field(default_factory=list)
    issues_heading: str = ""


@dataclass
class Input:
    """One input of a generated form (or a repeating group of them)."""

    name: str
    key: str
    label: str
    widget: str  # text password number integer checkbox select options checkboxes lines group json
    required: bool = False
    help: str = ""
    value: Any = None
    choices: list[Choice] = field(default_factory=list)
    options_key: str | None = None
    depends_on: list[str] = field(default_factory=list)
    error: str | None = None
    note: str | None = None
    secret_stored: bool = False
    items: list[list[Input]] = field(default_factory=list)
    blank: list[Input] = field(default_factory=list)
    min_items: int = 0
    max_items: int | None = None
    max_length: int | None = None
    rows: list[MappingRow] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    issues_heading: str = ""


# (options key, config so far) -> (choices, error message); None when deps are missing.
OptionsLoader = Callable[[str, dict[str, Any]], tuple[list[Choice], str | None]]
# (mapping key, config so far) -> (the editor's rows, or None; error message).
MappingLoader = Callable[[str, dict[str, Any]], tuple[MappingView | None, str | None]]


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The node with `$ref` followed and `anyOf [X, null]` unwrapped; and whether it may be null."""
    nullable = False
    node = dict(node)
    if "anyOf" in node:
        variants = [v for v in node["anyOf"] if v.get("type") != "null"]
        nullable = len(variants) < len(node["anyOf"])
        if len(variants) == 1:
            merged = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**variants[0], **merged}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.split("/")[-1], {})
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node, nullable


def is_mapping(node: Mapping[str, Any], top_level: bool) -> bool:
    """Whether a top-level property is edited with the mapping editor."""
    return top_level and bool(node.get("x-mapping"))


def mapping_depends_on(schema: Mapping[str, Any], key: str) -> list[str]:
    """What a mapping waits for: its `x-depends-on`, else every other required property."""
    prop, _ = _resolve(schema, schema.get("properties", {}).get(key, {}))
    deps = prop.get("x-depends-on")
    if isinstance(deps, list):
        return [str(d) for d in deps]
    return [k for k in schema.get("required", []) if k != key]


def options_key(key: str, node: Mapping[str, Any], top_level: bool) -> bool:
    """Whether a top-level property is filled by the options service."""
    if not top_level:
        return False
    if node.get("x-options"):
        return True
    if node.get("type") == "array":
        return key in IMPLIED_MULTI_OPTION_KEYS
    return key in IMPLIED_OPTION_KEYS


def _display(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def build(
    schema: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    load_options: OptionsLoader,
    field_choices: list[Choice],
    stored: Mapping[str, Any] | None = None,
    prefix: str = "config",
    load_mapping: MappingLoader | None = None,
) -> list[Input]:
    """The inputs of an object schema, filled with `values` (a config, or what was posted).

    `stored` is the saved config of the job being edited: its secrets are never written into the
    page (the input stays blank and says a value is kept).
    """
    loaders = _Loaders(load_options, load_mapping)
    return _object(schema, schema, values, prefix, loaders, field_choices, stored or {}, top=True)


@dataclass(frozen=True)
class _Loaders:
    options: OptionsLoader
    mapping: MappingLoader | None


def _missing_note(root: Mapping[str, Any], deps: list[str], values: Mapping[str, Any]) -> str:
    """The “Fill in X and Y first.” note for the dependencies not filled in yet (or "")."""
    missing = [d for d in deps if values.get(d) in (None, "")]
    if not missing:
        return ""
    titles = [
        str(_resolve(root, root.get("properties", {}).get(d, {}))[0].get("title") or d)
        for d in missing
    ]
    return f"Fill in {' and '.join(titles)} first."


def _mapping_input(
    root: Mapping[str, Any], item: Input, values: Mapping[str, Any], loader: MappingLoader | None
) -> None:
    """Fill a mapping editor: its rows once what it depends on is there."""
    item.widget = "mapping"
    deps = mapping_depends_on(root, item.key)
    item.depends_on = [f"{item.name.rsplit('.', 1)[0]}.{d}" for d in deps]
    item.value = ""
    note = _missing_note(root, deps, values)
    if note:
        item.note = note
        return
    if loader is None:
        item.note = "This mapping cannot be edited here."
        return
    view, error = loader(item.key, dict(values))
    item.error = item.error or error
    if view is None:
        return
    for row in view.rows:
        row.name = f"{item.name}.{row.key}"
    item.rows, item.choices, item.issues = view.rows, view.choices, view.issues
    item.issues_heading = view.issues_heading


def mapping_input(
    schema: Mapping[str, Any],
    key: str,
    values: Mapping[str, Any],
    load_mapping: MappingLoader,
    prefix: str = "config",
) -> Input:
    """One mapping editor alone (the page's script asks for it when its dependencies change)."""
    prop, _ = _resolve(schema, schema.get("properties", {}).get(key, {}))
    item = Input(
        name=f"{prefix}.{key}",
        key=key,
        label=str(prop.get("title") or key.replace("_", " ")),
        widget="mapping",
        required=key in set(schema.get("required", [])),
        help=str(prop.get("description") or ""),
    )
    _mapping_input(schema, item, values, load_mapping)
    return item


def _object(
    root: Mapping[str, Any],
    node: Mapping[str, Any],
    values: Mapping[str, Any],
    prefix: str,
    loaders: _Loaders,
    field_choices: list[Choice],
    stored: Mapping[str, Any],
    *,
    top: bool,
) -> list[Input]:
    required = set(node.get("required", []))
    inputs = []
    for key, raw in node.get("properties", {}).items():
        prop, _ = _resolve(root, raw)
        name = f"{prefix}.{key}"
        value = values.get(key, prop.get("default"))
        item = Input(
            name=name,
            key=key,
            label=str(prop.get("title") or key.replace("_", " ")),
            widget="text",
            required=key in required,
            help=str(prop.get("description") or ""),
            value=_display(value),
            max_length=prop.get("maxLength"),
        )
        kind = prop.get("type")
        if is_mapping(prop, top):
            _mapping_input(root, item, values, loaders.mapping)
        elif options_key(key, prop, top):
            item.options_key = key
            item.depends_on = [f"{prefix}.{d}" for d in prop.get("x-depends-on", [])]
            item.widget = "checkboxes" if kind == "array" else "options"
            item.value = [str(v) for v in value] if isinstance(value, list) else _display(value)
            note = _missing_note(root, list(prop.get("x-depends-on", [])), values)
            if note:
                item.note = note
            else:
                item.choices, item.error = loaders.options(key, dict(values))
        elif key in FIELD_NAME_KEYS and kind == "string":
            item.widget = "select"
            item.choices = field_choices
        elif "enum" in prop:
            item.widget = "select"
            item.choices = [Choice(str(v), str(v)) for v in prop["enum"]]
        elif kind == "boolean":
            item.widget = "checkbox"
            item.value = bool(value)
        elif kind in ("integer", "number"):
            item.widget = kind
        elif kind == "string":
            item.widget = "password" if is_secret(prop) else "text"
            kept = stored.get(key)
            if item.widget == "password" and isinstance(kept, str) and kept:
                item.secret_stored = True
                if value == kept:
                    item.value = ""
        elif kind == "array":
            items_node, _ = _resolve(root, prop.get("items", {}))
            item.min_items = int(prop.get("minItems", 0))
            item.max_items = prop.get("maxItems")
            if items_node.get("type") == "object":
                item.widget = "group"
                rows = value if isinstance(value, list) and value else [{}]
                item.items = [
                    _object(
                        root,
                        items_node,
                        row if isinstance(row, dict) else {},
                        f"{name}.{i}",
                        loaders,
                        field_choices,
                        {},
                        top=False,
                    )
                    for i, row in enumerate(rows)
                ]
                item.blank = _object(
                    root,
                    items_node,
                    {},
                    f"{name}.__index__",
                    loaders,
                    field_choices,
                    {},
                    top=False,
                )
            else:
                item.widget = "lines"
                item.value = "\n".join(str(v) for v in value) if isinstance(value, list) else ""
        else:
            item.widget = "json"
        inputs.append(item)
    return inputs


def names(inputs: list[Input]) -> list[str]:
    """Every input name of a form, groups included (for settling error messages)."""
    out = []
    for item in inputs:
        out.append(item.name)
        out.extend(row.name for row in item.rows)
        for group_row in item.items:
            out.extend(names(group_row))
    return out


def attach(inputs: list[Input], problems: Problems) -> None:
    """Put each message next to its input."""
    for item in inputs:
        # A dropdown that could not be filled keeps the reason: "fill this in" cannot be done.
        unfillable = item.options_key is not None and bool(item.error) and not item.choices
        if item.name in problems.fields and not unfillable:
            item.error = problems.fields[item.name]
        for row in item.rows:
            row.error = problems.fields.get(row.name, row.error)
        for group_row in item.items:
            attach(group_row, problems)


class FormValues(Mapping[str, Any]):
    """Posted form data as the parser reads it: one value, or all values of a name."""

    def __init__(self, data: Mapping[str, Any], getlist: Callable[[str], list[Any]]) -> None:
        self._data = data
        self._getlist = getlist

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def all(self, key: str) -> list[str]:
        """Every value posted under this name (checkbox groups)."""
        return [v for v in self._getlist(key) if isinstance(v, str)]


def parse(
    schema: Mapping[str, Any],
    form: FormValues,
    *,
    prefix: str = "config",
) -> tuple[dict[str, Any], Problems]:
    """The config a posted form describes (types per schema), and what could not be read.

    Values that do not convert stay as typed, so the config model reports them beside the input.
    A blank secret is left out (see the module's docstring).
    """
    problems = Problems()
    config = _parse_object(schema, schema, form, prefix, problems, top=True)
    return config, problems


def coerce(schema: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """A config typed in a browser (all text) with its top-level scalars converted per schema."""
    out = dict(config)
    for key, raw in schema.get("properties", {}).items():
        prop, _ = _resolve(schema, raw)
        value = out.get(key)
        if isinstance(value, str) and prop.get("type") in ("integer", "number", "boolean"):
            if prop["type"] == "boolean":
                out[key] = value in ("true", "on", "1", "yes")
            elif value.strip():
                out[key] = _scalar(prop, value.strip())
            else:
                del out[key]
    return out


def _scalar(prop: Mapping[str, Any], raw: str) -> Any:
    kind = prop.get("type")
    enum = prop.get("enum")
    if enum:
        for v in enum:
            if str(v) == raw:
                return v
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw
    return raw


def _parse_object(
    root: Mapping[str, Any],
    node: Mapping[str, Any],
    form: FormValues,
    prefix: str,
    problems: Problems,
    *,
    top: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in node.get("properties", {}).items():
        prop, nullable = _resolve(root, raw)
        name = f"{prefix}.{key}"
        kind = prop.get("type")
        if is_mapping(prop, top):
            out[key] = _parse_mapping(form, name)
            continue
        if kind == "boolean":
            out[key] = form.get(name) in ("true", "on", "1", "yes")
            continue
        if kind == "array":
            items_node, _ = _resolve(root, prop.get("items", {}))
            if items_node.get("type") == "object":
                out[key] = _parse_rows(root, items_node, form, name, problems)
            elif options_key(key, prop, top):
                out[key] = [_scalar(items_node, v) for v in form.all(name) if v.strip()]
            elif name in form:
                text = str(form[name])
                lines = [v.strip() for v in text.replace("\r\n", "\n").split("\n")]
                out[key] = [_scalar(items_node, v) for v in lines if v]
            continue
        value = form.get(name)
        if not isinstance(value, str):
            continue
        text = value.strip()
        if is_secret(prop) and not text:
            continue
        if not text:
            if nullable:
                out[key] = None
        elif kind in ("object", None) and "enum" not in prop:
            try:
                out[key] = json.loads(text)
            except ValueError:
                problems.add(name, "This is not valid JSON.")
        else:
            out[key] = _scalar(prop, text)
    return out


def _parse_mapping(form: FormValues, name: str) -> dict[str, str]:
    """A mapping editor's choices: `<name>.<their field>` = our field; "not sent" is left out."""
    marker = name + "."
    out = {}
    for posted, value in form.items():
        if posted.startswith(marker) and isinstance(value, str) and value.strip():
            out[posted[len(marker) :]] = value.strip()
    return out


def _parse_rows(
    root: Mapping[str, Any],
    node: Mapping[str, Any],
    form: FormValues,
    name: str,
    problems: Problems,
) -> list[dict[str, Any]]:
    marker = name + "."
    indexes = sorted(
        {
            int(k[len(marker) :].split(".", 1)[0])
            for k in form
            if k.startswith(marker) and k[len(marker) :].split(".", 1)[0].isdigit()
        }
    )
    rows = []
    for position, index in enumerate(indexes):
        row_prefix = f"{name}.{index}"
        filled = any(
            k.startswith(row_prefix + ".") and isinstance(form[k], str) and form[k].strip()
            for k in form
        )
        if not filled:
            continue
        row_problems = Problems()
        row = _parse_object(root, node, form, row_prefix, row_problems, top=False)
        # Rows are renumbered as they are kept, so error locations match the config's indexes.
        for key, message in row_problems.fields.items():
            problems.add(key.replace(row_prefix, f"{name}.{position}", 1), message)
        rows.append(row)
    return rows
