"""What judging may know of a mirror: read with its version, values compiled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from leadgate.lists.matcher import CompiledList

MirrorState = Literal["ok", "gone", "unavailable", "pending"]


@dataclass(frozen=True)
class MirrorView:
    """What judging may know of a mirror."""

    state: MirrorState
    definition: Mapping[str, Any] | None
    version: int | None
    list_version: int | None
    compiled: CompiledList | None
    subdomain: str
    remote_job_id: int
    stale: bool = False


@runtime_checkable
class MirrorContext(Protocol):
    """A JobContext that can also hand out mirrors."""

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> MirrorView | None:
        """The mirror of that client job, if one has been prepared."""
        ...
