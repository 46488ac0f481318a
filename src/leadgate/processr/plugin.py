"""The plug-in protocol of the Processr: what a job type is, what it returns, what it may read.

The core defines it and never names a type; `leadgate.jobs` holds the types themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, StringConstraints

from leadgate.kit.json_schema import is_secret, names_fields, unmarked
from leadgate.lists.matcher import CompiledList, ListMatcher, compile_list

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from leadgate.config import Settings
    from leadgate.kit.repository import TenantScope

Tab = Literal["quality", "enrichment", "integration"]

ConfigT = TypeVar("ConfigT", bound=BaseModel)

# Config keys that name our campaign's fields when a type's schema does not say otherwise.
IMPLIED_FIELD_KEYS = frozenset({"field_name", "Field_name", "fields"})

# A config value naming one of our campaign's fields.
FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


@dataclass(frozen=True, slots=True)
class Flag:
    """A reason a job failed: `code` is stable, `message` is for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class JobResult:
    """The outcome of one job on one lead.

    `waiting` means the job cannot judge yet (e.g. a Connect mirror is not ready), so the lead must
    stay pending; `passed` is then meaningless.
    """

    passed: bool
    flags: list[Flag] = field(default_factory=list)
    waiting: bool = False
    mirror_version: int | None = None


_PASSED = JobResult(passed=True)


def passed() -> JobResult:
    """A passing result with no flags (one shared instance: results are never changed)."""
    return _PASSED


def failed(code: str, message: str) -> JobResult:
    """A failing result with one flag."""
    return JobResult(passed=False, flags=[Flag(code, message)])


@dataclass(frozen=True, slots=True)
class Judged:
    """A stored lead that ended valid or test, with the integration jobs of one type taking it."""

    instance_id: int
    lead_id: int
    campaign_id: int
    job_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement (psycopg `%(name)s` parameters) a hook wants run in the caller's
    transaction."""

    sql: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a lead comes from: its campaign, and its publisher (None for an admin's lead)."""

    campaign_id: int
    publisher_id: int | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A key a lead claims, for later leads to find (a duplicate check's value).

    `digest` is the SHA-256 of the normalised value: the value itself is never stored again.
    `scope_ref` names the scope the key lives in (the type chooses it, e.g. `c:{campaign}`);
    every job naming the same scope shares its keys. `counts` are the states of earlier leads
    that count against this claim; a stored key's state is its lead's status (pending, valid,
    caution, invalid, test), or `returned` once a person or the client marked the lead invalid
    after the Processr's verdict.
    """

    scope_ref: str
    digest: bytes
    counts: frozenset[str]


@dataclass(frozen=True, slots=True)
class Earlier:
    """The newest earlier lead that claimed a key and counts: its id, when it came, and how long
    before the lead being judged (0 for an earlier lead of the same batch)."""

    lead_id: int
    at: datetime
    age: timedelta


class Unprobed(LookupError):
    """The key was not locked and probed with this lead (a context without claims)."""


class JobContext(Protocol):
    """Read-only data jobs may consult; prepared by sync tasks, never fetched on the hot path."""

    def compiled_list(self, list_id: int) -> ListMatcher | None:
        """The current compiled values of a validation list, or None if it does not exist."""
        ...

    def list_name(self, list_id: int) -> str:
        """The list's name for flag messages."""
        ...

    @property
    def origin(self) -> Origin | None:
        """The lead's campaign and publisher, when the context is one lead's (it is whenever
        the campaign has jobs that claim keys)."""
        ...

    def earlier(self, claim: Claim) -> Earlier | None:
        """The newest earlier lead that claimed this key and counts for it, or None.

        Raises Unprobed when the key was not locked and probed with this lead."""
        ...


@dataclass
class StaticContext:
    """An in-memory JobContext for tests and benchmarks (`earlier_leads`: the answers to claims
    of a lead from `origin`)."""

    lists: dict[int, CompiledList] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    origin: Origin | None = None
    earlier_leads: dict[Claim, Earlier | None] = field(default_factory=dict)

    def add_list(self, list_id: int, name: str, values: Iterable[str]) -> None:
        """Compile and register a list."""
        self.lists[list_id] = compile_list(values)
        self.names[list_id] = name

    def compiled_list(self, list_id: int) -> CompiledList | None:
        """The compiled list, or None."""
        return self.lists.get(list_id)

    def list_name(self, list_id: int) -> str:
        """The list's name, or `#id` when unknown."""
        return self.names.get(list_id, f"#{list_id}")

    def earlier(self, claim: Claim) -> Earlier | None:
        """The answer given for this claim; Unprobed when none was."""
        try:
            return self.earlier_leads[claim]
        except KeyError:
            raise Unprobed(claim.scope_ref) from None


class JobType(Protocol[ConfigT]):
    """A plug-in job type: everything the platform needs to know about one kind of job.

    Stateless: config is passed in, never stored on the object. Declarations (`field_keys`,
    `reads_mirrors`, `publishable`, ...) let the Processr, the UI and the intake treat a type
    correctly without naming it; hooks let a type with a remote side (Connect) react to its
    jobs being saved, deleted or judged, in the caller's transaction, rewrite a lead's values
    before it is judged (`transforms`), or claim keys that later leads are checked against
    (`claims_keys`).
    """

    config_model: type[ConfigT]
    type: str
    title: str
    tab: Tab
    # Jobs of this type judge against mirrors that sync tasks prepare (Connect checks).
    reads_mirrors: bool
    # The client's job type that jobs of this type mirror ("" for none), and whether that job
    # reads a list whose values are mirrored too.
    mirrored_type: str
    mirrors_list: bool
    # Jobs of this type can be shared with publishers (and so mirrored by them).
    publishable: bool
    # Config keys that say where the type's secrets are sent (a Connect job's `Subdomain`): a
    # stored secret is reused for a masked or blank one only while these stay the same.
    secret_bound_keys: frozenset[str]
    # The intake's fast driver may judge and store jobs of this type: their views (if any) are
    # cached as `load_views` says and their `after_judged` is all they write.
    fast_intake: bool
    # Jobs of this type rewrite lead values (`transform`) before any job judges the lead,
    # whatever their position; the stored lead holds the rewritten values.
    transforms: bool
    # Jobs of this type claim keys (`claimed_keys`): every driver locks and probes them in the
    # lead's write transaction, hands the answers to `run` through `ctx.earlier`, and stores
    # the keys with the lead.
    claims_keys: bool

    @property
    def flag_texts(self) -> Mapping[str, str]:
        """What each flag code of this type means, in a short line for people (the
        dashboard's rejection reasons): a flag's message names the lead's values, this the
        reason."""
        ...

    @property
    def description(self) -> str:
        """What jobs of this type check, for the job-type picker."""
        ...

    @property
    def field_keys(self) -> frozenset[str]:
        """Config keys whose values name fields of our campaign (also nested, in sections)."""
        ...

    @property
    def secret_keys(self) -> frozenset[str]:
        """Config keys holding secrets: masked in answers, kept when sent back masked."""
        ...

    def run(self, data: Mapping[str, Any], config: ConfigT, ctx: JobContext) -> JobResult:
        """Judge one lead."""
        ...

    def transform(self, data: Mapping[str, Any], config: ConfigT) -> dict[str, Any]:
        """The lead's values rewritten (transforms types): pure, and idempotent, since a lead
        judged again is transformed again."""
        ...

    def claimed_keys(
        self, data: Mapping[str, Any], config: ConfigT, origin: Origin
    ) -> Sequence[Claim]:
        """The keys a lead with these (transformed) values claims (claims_keys types): pure."""
        ...

    def list_ids(self, config: ConfigT) -> frozenset[int]:
        """The validation lists jobs of this config read."""
        ...

    def warm(self, config: ConfigT, ctx: JobContext) -> None:
        """Prepare what `run` will read (compile lookups) so the first lead does not wait."""
        ...

    def summary(self, config: ConfigT, list_names: Mapping[int, str]) -> str:
        """What a job checks, in a line for people."""
        ...

    def check(self, scope: TenantScope, config: ConfigT) -> None:
        """Checks of a config beyond its model (referenced rows exist); raises InvalidRequest."""
        ...

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        """The dropdown choices of a config key, or None for the generic ones."""
        ...

    def load_views(self, session: Session, job_ids: Sequence[int]) -> Mapping[Any, Any]:
        """What `run` reads through `ctx.mirror(...)` for these jobs (reads_mirrors types).

        Views are cached with the campaign's judging view until the campaign's stamp moves, so
        a type whose views change moves its job's inputs version in the same transaction
        (`processr.repository.touch_inputs`)."""
        ...

    def shared_definition(self, scope: TenantScope, config: ConfigT) -> dict[str, Any]:
        """What publishers see of a job of this type (publishable types): the rule's fields."""
        ...

    def same_rule(self, config: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
        """Whether two jobs of this type with these configs judge by one rule (a second such
        job in a campaign counts it twice: it is saved, with a warning)."""
        ...

    def on_saved(self, scope: TenantScope, job: Any, settings: Settings) -> None:
        """After a job of this type was created or its config changed (same transaction)."""
        ...

    def on_deleted(self, scope: TenantScope, job: Any) -> None:
        """Before a job of this type is deleted (same transaction)."""
        ...

    def after_judged(self, judged: Sequence[Judged]) -> Sequence[Statement]:
        """What to write for leads that ended valid or test (stored in this transaction, maybe
        a whole batch), each with the integration jobs of this type that take it.

        Statements, not ORM work: both of the intake's drivers run them in the transaction of
        the leads' own write, so what they queue is committed with the leads or not at all."""
        ...


class Option(BaseModel):
    """One choice of a config dropdown."""

    value: Any
    label: str


class BaseJobType(Generic[ConfigT]):
    """Defaults for every declaration and hook: a type overrides only what it has."""

    config_model: type[ConfigT]
    type: str
    title: str
    tab: Tab = "quality"
    reads_mirrors: bool = False
    mirrored_type: str = ""
    mirrors_list: bool = False
    publishable: bool = False
    secret_bound_keys: frozenset[str] = frozenset()
    fast_intake: bool = True
    transforms: bool = False
    claims_keys: bool = False
    flag_texts: Mapping[str, str] = {}

    @property
    def description(self) -> str:
        """The config model's description (its docstring)."""
        return str(_schema(self.config_model).get("description", ""))

    @property
    def field_keys(self) -> frozenset[str]:
        """The config keys its schema marks `"x-options": "fields"`; unmarked, the keys named
        `field_name`, `Field_name` or `fields` are taken to name fields too."""
        return schema_keys(self.config_model, names_fields) | (
            IMPLIED_FIELD_KEYS & schema_keys(self.config_model, unmarked)
        )

    @property
    def secret_keys(self) -> frozenset[str]:
        """The config keys its schema marks `"x-secret": true` (or `format: password`)."""
        return schema_keys(self.config_model, is_secret)

    def run(self, data: Mapping[str, Any], config: ConfigT, ctx: JobContext) -> JobResult:
        """Judge one lead."""
        raise NotImplementedError

    def transform(self, data: Mapping[str, Any], config: ConfigT) -> dict[str, Any]:
        """The values as they are."""
        return dict(data)

    def claimed_keys(
        self, data: Mapping[str, Any], config: ConfigT, origin: Origin
    ) -> Sequence[Claim]:
        """No keys."""
        return ()

    def list_ids(self, config: ConfigT) -> frozenset[int]:
        """No lists."""
        return frozenset()

    def warm(self, config: ConfigT, ctx: JobContext) -> None:
        """Nothing to prepare."""

    def summary(self, config: ConfigT, list_names: Mapping[int, str]) -> str:
        """The fields the job looks at."""
        return ""

    def check(self, scope: TenantScope, config: ConfigT) -> None:
        """Nothing beyond the model."""

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        """The generic choices."""
        return None

    def load_views(self, session: Session, job_ids: Sequence[int]) -> Mapping[Any, Any]:
        """No mirrors."""
        return {}

    def shared_definition(self, scope: TenantScope, config: ConfigT) -> dict[str, Any]:
        """Not shared with publishers."""
        return {}

    def same_rule(self, config: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
        """Jobs of most types may repeat on purpose (other fields, other lists): no warning."""
        return False

    def on_saved(self, scope: TenantScope, job: Any, settings: Settings) -> None:
        """Nothing to set up."""

    def on_deleted(self, scope: TenantScope, job: Any) -> None:
        """Nothing to tear down."""

    def after_judged(self, judged: Sequence[Judged]) -> Sequence[Statement]:
        """Nothing to write."""
        return ()


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


@functools.cache
def schema_keys(
    model: type[BaseModel], marked: Callable[[Mapping[str, Any]], bool]
) -> frozenset[str]:
    """Names of the properties of a config model (and of the models it nests) that are `marked`."""
    schema = _schema(model)
    found: set[str] = set()
    for part in (schema, *schema.get("$defs", {}).values()):
        for name, prop in part.get("properties", {}).items():
            if marked(prop) or marked(prop.get("items") or {}):
                found.add(name)
    return frozenset(found)
