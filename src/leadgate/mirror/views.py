"""What judging may know of a mirror: read with its version, values compiled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from leadgate.lists.matcher import ListMatcher

MirrorState = Literal["ok", "gone", "unavailable", "pending"]


@dataclass(frozen=True)
class MirrorView:
    """What judging may know of a mirror."""

    state: MirrorState
    definition: Mapping[str, Any] | None
    version: int | None
    list_version: int | None
    compiled: ListMatcher | None
    subdomain: str
    remote_job_id: int
    synced_at: datetime | None = None

    def stale(self, max_staleness_s: float | None, now: datetime | None = None) -> bool:
        """Whether the last good sync is older than the allowed staleness (None: never)."""
        if max_staleness_s is None or self.synced_at is None:
            return False
        age = ((now or datetime.now(UTC)) - self.synced_at).total_seconds()
        return age > max_staleness_s


@runtime_checkable
class MirrorContext(Protocol):
    """A JobContext that can also hand out mirrors."""

    @property
    def max_staleness_s(self) -> float | None:
        """How old a mirror may be and still judge (None: any age)."""
        ...

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> MirrorView | None:
        """The mirror of that client job, if one has been prepared."""
        ...
