"""The outbound delivery policy (pure): answers classified, backoff, dead letters, the breaker."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import takewhile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadgate.kit.outbound import (
    Action,
    Breaker,
    Kind,
    Outcome,
    Policy,
    Step,
    classify,
    delay,
    next_step,
    parse_retry_after,
)

WEBHOOKS = Policy(8, 5.0, 3600.0, gone_on_410=True)
CONNECT = Policy(8, 2.0, 1800.0, client_errors_final=True)
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

policies = st.builds(
    Policy,
    max_attempts=st.integers(1, 20),
    base_s=st.floats(0.0, 100.0),
    cap_s=st.floats(0.0, 10_000.0),
    client_errors_final=st.booleans(),
    gone_on_410=st.booleans(),
)
waits = st.none() | st.floats(0.0, 1e9)
failures = st.sampled_from([Kind.RETRY, Kind.PERMANENT, Kind.GONE])


class Fixed(random.Random):
    """A jitter that always draws the same factor."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def uniform(self, a: float, b: float) -> float:
        return self.factor


# --- classify: each caller keeps its own rules -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, Kind.RETRY),  # no answer: a network error or a timeout
        (200, Kind.DELIVERED),
        (204, Kind.DELIVERED),
        (299, Kind.DELIVERED),
        (301, Kind.RETRY),
        (400, Kind.RETRY),
        (401, Kind.RETRY),
        (404, Kind.RETRY),
        (409, Kind.RETRY),
        (410, Kind.GONE),
        (429, Kind.RETRY),
        (500, Kind.RETRY),
        (503, Kind.RETRY),
    ],
)
def test_webhooks_retry_everything_but_2xx_and_410(status: int | None, kind: Kind) -> None:
    assert classify(WEBHOOKS, status) is kind


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, Kind.RETRY),
        (201, Kind.DELIVERED),
        (400, Kind.PERMANENT),
        (401, Kind.PERMANENT),  # a refused key is final for deliveries
        (403, Kind.PERMANENT),
        (404, Kind.PERMANENT),
        (410, Kind.PERMANENT),  # no subscription to end: just a refusal
        (422, Kind.PERMANENT),
        (429, Kind.RETRY),
        (500, Kind.RETRY),
        (502, Kind.RETRY),
    ],
)
def test_connect_client_errors_are_final(status: int | None, kind: Kind) -> None:
    assert classify(CONNECT, status) is kind


def test_outcome_of_classifies_and_keeps_what_to_record() -> None:
    got = Outcome.of(CONNECT, 503, "leadco answered 503: busy", 7.0)
    assert got == Outcome(Kind.RETRY, 503, "leadco answered 503: busy", 7.0)
    assert got.reason == "leadco answered 503: busy"
    assert Outcome.of(WEBHOOKS, 500).reason == "HTTP 500"


# --- next_step ---------------------------------------------------------------------------------


def test_delivered_is_done_and_gone_is_gone_even_on_the_last_attempt() -> None:
    assert next_step(WEBHOOKS, 8, Outcome(Kind.DELIVERED, 204)) == Step(Action.DONE)
    assert next_step(WEBHOOKS, 8, Outcome(Kind.GONE, 410)) == Step(Action.GONE)


def test_permanent_is_dead_at_once() -> None:
    assert next_step(CONNECT, 1, Outcome(Kind.PERMANENT, 422)) == Step(Action.DEAD)


def test_retries_until_attempts_run_out() -> None:
    retry = Outcome(Kind.RETRY, 500)
    steps = [next_step(WEBHOOKS, n, retry).action for n in range(1, 9)]
    assert steps == [Action.RETRY] * 7 + [Action.DEAD]


def test_backoff_doubles_from_the_base() -> None:
    middle = Fixed(1.0)
    got = [delay(WEBHOOKS, n, rng=middle) for n in range(1, 6)]
    assert got == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert delay(WEBHOOKS, 0, rng=middle) == 5.0  # a first "retry" counted from zero still waits


def test_jitter_is_fifty_percent_either_way() -> None:
    assert delay(WEBHOOKS, 3, rng=Fixed(0.5)) == 10.0
    assert delay(WEBHOOKS, 3, rng=Fixed(1.5)) == 30.0


def test_cap_holds_with_and_without_retry_after() -> None:
    assert delay(WEBHOOKS, 30, rng=Fixed(1.5)) == 3600.0
    assert delay(WEBHOOKS, 30, 10.0, rng=Fixed(1.5)) == 3600.0
    assert delay(WEBHOOKS, 1, 86_400.0, rng=Fixed(1.0)) == 3600.0


def test_retry_after_is_a_floor() -> None:
    assert delay(WEBHOOKS, 1, 120.0, rng=Fixed(1.0)) == 120.0
    assert delay(WEBHOOKS, 5, 1.0, rng=Fixed(1.0)) == 80.0  # a shorter ask changes nothing
    step = next_step(CONNECT, 1, Outcome(Kind.RETRY, 429, retry_after=30.0), rng=Fixed(1.0))
    assert step == Step(Action.RETRY, 30.0)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert delay(WEBHOOKS, 10_000, rng=Fixed(1.0)) == 3600.0


def test_schedule_is_whole_seconds_and_never_zero() -> None:
    assert Step(Action.RETRY, 0.2).schedule_s == 1
    assert Step(Action.RETRY, 2.6).schedule_s == 3
    assert Step(Action.RETRY, 80.0).schedule_s == 80


@given(policies, st.integers(-5, 2_000), waits, st.randoms(use_true_random=False))
def test_delay_stays_within_bounds(
    policy: Policy, attempt: int, retry_after: float | None, rng: random.Random
) -> None:
    wait = delay(policy, attempt, retry_after, rng=rng)
    assert 0.0 <= wait <= policy.cap_s
    exponential = min(policy.cap_s, policy.base_s * 2.0 ** max(0, min(attempt - 1, 64)))
    assert wait >= min(policy.cap_s, 0.5 * exponential) - 1e-9
    assert wait <= max(1.5 * exponential, min(retry_after or 0.0, policy.cap_s)) + 1e-9


@given(policies, st.integers(1, 2_000), waits)
def test_retry_after_is_honoured_up_to_the_cap(
    policy: Policy, attempt: int, retry_after: float | None
) -> None:
    wait = delay(policy, attempt, retry_after, rng=Fixed(0.5))
    assert wait >= min(retry_after or 0.0, policy.cap_s)


@given(policies, st.integers(1, 200), st.floats(0.5, 1.5))
def test_delay_grows_with_attempts_until_the_cap(
    policy: Policy, attempt: int, factor: float
) -> None:
    rng = Fixed(factor)
    assert delay(policy, attempt, rng=rng) <= delay(policy, attempt + 1, rng=rng)


@given(policies, st.integers(1, 50), waits, st.randoms(use_true_random=False))
def test_exhausted_attempts_are_dead(
    policy: Policy, attempts: int, retry_after: float | None, rng: random.Random
) -> None:
    step = next_step(policy, attempts, Outcome(Kind.RETRY, 503, retry_after=retry_after), rng=rng)
    if attempts >= policy.max_attempts:
        assert step == Step(Action.DEAD)
    else:
        assert step.action is Action.RETRY and 0.0 <= step.wait_s <= policy.cap_s
        assert step.schedule_s >= 1


@given(policies, st.integers(1, 50), st.none() | st.integers(100, 599))
def test_every_outcome_has_a_step(policy: Policy, attempts: int, status: int | None) -> None:
    outcome = Outcome.of(policy, status)
    expected = {
        Kind.DELIVERED: {Action.DONE},
        Kind.GONE: {Action.GONE},
        Kind.PERMANENT: {Action.DEAD},
        Kind.RETRY: {Action.RETRY, Action.DEAD},
    }
    assert next_step(policy, attempts, outcome).action in expected[outcome.kind]


# --- the breaker -------------------------------------------------------------------------------


def test_breaker_opens_after_threshold_failures_in_a_row() -> None:
    breaker = Breaker(3)
    failures = 0
    for kind in (Kind.RETRY, Kind.PERMANENT):
        failures = breaker.count(failures, Outcome(kind))
        assert not breaker.opens(failures)
    failures = breaker.count(failures, Outcome(Kind.RETRY))
    assert failures == 3 and breaker.opens(failures)


def test_a_delivery_resets_the_count() -> None:
    breaker = Breaker(2)
    assert breaker.count(1, Outcome(Kind.DELIVERED, 201)) == 0
    assert not breaker.opens(breaker.count(1, Outcome(Kind.DELIVERED, 201)))


@given(st.integers(1, 30), st.lists(st.just(Kind.DELIVERED) | failures, max_size=60))
def test_breaker_counts_the_failures_since_the_last_delivery(
    threshold: int, kinds: list[Kind]
) -> None:
    breaker = Breaker(threshold)
    failures = 0
    for kind in kinds:
        failures = breaker.count(failures, Outcome(kind))
    tail = len(list(takewhile(lambda k: k is not Kind.DELIVERED, reversed(kinds))))
    assert failures == tail
    assert breaker.opens(failures) == (tail >= threshold)


# --- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),  # not delta-seconds strictly, but receivers send it
        ("-3", None),
        ("+3", None),
        ("1e3", None),
        ("inf", None),
        ("nan", None),
        ("٣", None),  # a digit, but not an ASCII one
        ("soon", None),
        ("Wed, 01 May 2024 12:01:30 GMT", 90.0),  # IMF-fixdate
        ("Wednesday, 01-May-24 12:01:30 GMT", 90.0),  # obsolete RFC 850
        ("Wed May  1 12:01:30 2024", 90.0),  # obsolete asctime, no zone: GMT
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # past: no wait
        ("Wed, 31 Feb 2024 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@given(st.integers(0, 10**9))
def test_delta_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == float(seconds)


@given(st.integers(0, 10**8))
def test_http_dates_count_from_now(seconds: int) -> None:
    header = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(header, NOW) == float(seconds)


@given(st.text())
def test_garbage_never_raises(value: str) -> None:
    got = parse_retry_after(value, NOW)
    assert got is None or got >= 0.0
