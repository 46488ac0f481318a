"""What every job type is: a config model plus a pure `run(data, config, ctx) -> JobResult`."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from leadgate.lists.matcher import CompiledList, compile_list

Tab = Literal["quality", "enrichment", "integration"]

ConfigT = TypeVar("ConfigT", bound=BaseModel)


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


class JobContext(Protocol):
    """Read-only data jobs may consult; prepared by sync tasks, never fetched on the hot path."""

    def compiled_list(self, list_id: int) -> CompiledList | None:
        """The current compiled values of a validation list, or None if it does not exist."""
        ...

    def list_name(self, list_id: int) -> str:
        """The list's name for flag messages."""
        ...


@dataclass
class StaticContext:
    """An in-memory JobContext for tests and benchmarks."""

    lists: dict[int, CompiledList] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

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


class JobType(Protocol[ConfigT]):
    """A plug-in job type. Stateless: config is passed to `run`, never stored on the object."""

    config_model: type[ConfigT]
    type: str
    title: str
    tab: Tab

    def run(self, data: Mapping[str, Any], config: ConfigT, ctx: JobContext) -> JobResult:
        """Judge one lead."""
        ...
