"""Outbound delivery policy: what a receiver's answer means and what happens next.

Pure: webhook messages and Connect deliveries keep their own rows and attempt logs; this module
only decides. An attempt ends delivered, worth another try, refused for good, or gone (the
receiver wants no more); the next step is done, a retry after an exponential backoff with jitter
(Retry-After honoured, everything capped), or dead once attempts run out. A `Breaker` says when
failures in a row open a circuit.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

# Past this, doubling the base only overflows a float; the cap has long taken over.
_MAX_DOUBLINGS = 64

_jitter = random.Random()

# delta-seconds is 1*DIGIT; a fraction is taken too, as some receivers send one.
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class Kind(StrEnum):
    """What one attempt's answer means."""

    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"
    GONE = "gone"


class Action(StrEnum):
    """What happens after an attempt."""

    DONE = "done"
    RETRY = "retry"
    DEAD = "dead"
    GONE = "gone"


@dataclass(frozen=True)
class Policy:
    """How one kind of outbound call is retried, and what the receiver's answers mean.

    By default every answer but a 2xx is tried again. `client_errors_final`: a 4xx other than
    429 (a refused key included) will be refused again, so it is not retried. `gone_on_410`: a
    410 means the receiver wants nothing more (Standard Webhooks).
    """

    max_attempts: int
    base_s: float
    cap_s: float
    client_errors_final: bool = False
    gone_on_410: bool = False


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: its kind, the status and error to record, the wait asked for."""

    kind: Kind
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def of(
        cls,
        policy: Policy,
        status: int | None,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> Outcome:
        """The outcome of an answer with `status` (None: no answer at all)."""
        return cls(classify(policy, status), status, error, retry_after)

    @property
    def reason(self) -> str:
        """Why the attempt failed, in a few words."""
        return self.error or f"HTTP {self.status}"


@dataclass(frozen=True)
class Step:
    """What to do next; `wait_s` is set for a retry."""

    action: Action
    wait_s: float = 0.0

    @property
    def schedule_s(self) -> int:
        """The wait in whole seconds, at least one, for scheduling a job."""
        return max(1, round(self.wait_s))


@dataclass(frozen=True)
class Breaker:
    """A circuit opens after `threshold` failed attempts in a row; a delivery resets the count."""

    threshold: int

    def count(self, failures: int, outcome: Outcome) -> int:
        """Failures in a row once `outcome` is counted."""
        return 0 if outcome.kind is Kind.DELIVERED else failures + 1

    def opens(self, failures: int) -> bool:
        """Whether that many failures in a row open the circuit."""
        return failures >= self.threshold


def classify(policy: Policy, status: int | None) -> Kind:
    """The kind of an answer with `status`; None (a network error, a timeout) is retried."""
    if status is None:
        return Kind.RETRY
    if 200 <= status < 300:
        return Kind.DELIVERED
    if status == 410 and policy.gone_on_410:
        return Kind.GONE
    if policy.client_errors_final and 400 <= status < 500 and status != 429:
        return Kind.PERMANENT
    return Kind.RETRY


def delay(
    policy: Policy,
    attempt: int,
    retry_after: float | None = None,
    *,
    rng: random.Random = _jitter,
) -> float:
    """Seconds before retry number `attempt` (1-based): base·2^(n-1) ±50 %, at least
    `retry_after`, never more than the cap."""
    doublings = min(max(0, attempt - 1), _MAX_DOUBLINGS)
    exponential = min(policy.cap_s, policy.base_s * 2.0**doublings)
    wait = exponential * rng.uniform(0.5, 1.5)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, policy.cap_s)


def next_step(
    policy: Policy, attempts: int, outcome: Outcome, *, rng: random.Random = _jitter
) -> Step:
    """What follows `outcome`, the result of attempt number `attempts` (this one counted)."""
    if outcome.kind is Kind.DELIVERED:
        return Step(Action.DONE)
    if outcome.kind is Kind.GONE:
        return Step(Action.GONE)
    if outcome.kind is Kind.PERMANENT or attempts >= policy.max_attempts:
        return Step(Action.DEAD)
    return Step(Action.RETRY, delay(policy, attempts, outcome.retry_after, rng=rng))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (RFC 9110 §10.2.3), or None when there is none.

    Takes delta-seconds and an HTTP-date in any of its three forms; a date already past asks
    for no wait. Anything else (a negative number, garbage) is ignored. `now` must be
    timezone-aware.
    """
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # HTTP-dates are GMT; the asctime form carries no zone
    return max(0.0, (at - now).total_seconds())
