"""Connect delivery: valid leads reach the client exactly once; the client's verdicts come back.

A delivery is a row written in the transaction that judged the lead; a task posts it with an
Idempotency-Key derived from the row, so a retry (or a crash and a retry) never makes a second
lead at the client. Retries back off with jitter; permanent refusals and exhausted retries end
in `dead`, which a user can retry; a broken mapping or an open circuit `held`s deliveries.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from procrastinate.types import TimeDeltaParams
from sqlalchemy.orm import Session

from leadgate.campaigns import service as campaigns
from leadgate.config import Settings
from leadgate.delivery import mapping, repository
from leadgate.delivery.config import ConnectDeliveryConfig
from leadgate.delivery.models import Delivery, DeliveryConnection
from leadgate.errors import InvalidRequest, NotFound
from leadgate.instances.models import Instance
from leadgate.kit import metrics
from leadgate.kit.outbound import Action, Breaker, Kind, Outcome, Policy, next_step
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead
from leadgate.leads.service import keys_follow, record
from leadgate.peer import inbound, remote
from leadgate.peer.client import PeerClient, PeerError
from leadgate.processr import service as processr
from leadgate.processr.models import ProcessrJob
from leadgate.processr.plugin import Judged, Statement
from leadgate.processr.registry import REGISTRY
from leadgate.webhooks.urls import instance_url
from leadgate.worker.enqueue import enqueue, enqueue_once

log = logging.getLogger(__name__)

# Defined in delivery.tasks (which calls into this module).
DRAIN = repository.DRAIN


def delivery_policy(settings: Settings) -> Policy:
    """The contract's 4xx rule: a 4xx other than 429, a refused key included, is final."""
    return Policy(
        settings.delivery_max_attempts,
        settings.delivery_retry_base_s,
        settings.delivery_retry_cap_s,
        client_errors_final=True,
    )


def _peer(
    config: ConnectDeliveryConfig, settings: Settings, transport: httpx.BaseTransport | None = None
) -> PeerClient:
    return PeerClient.of(settings, config.Subdomain, config.API_Key, transport)


def field_mapping_view(
    scope: TenantScope, config: dict[str, Any], campaign_id: int, settings: Settings
) -> dict[str, Any]:
    """The client's form beside ours, with suggested pairs and what is still wrong."""
    cfg = ConnectDeliveryConfig.model_validate({"Field_mapping": {}, **config})
    campaign = campaigns.get(scope, campaign_id)
    with _peer(cfg, settings) as peer:
        client_fields = remote.call(lambda: peer.fields(cfg.Campaign))
    current = dict(cfg.Field_mapping)
    return {
        "client_fields": client_fields,
        "own_fields": campaign.fields,
        "mapping": current,
        "suggested": mapping.suggest(client_fields, campaign.fields),
        "problems": mapping.problems(current, client_fields, campaign.fields),
    }


def check_target(scope: TenantScope, config: ConnectDeliveryConfig) -> None:
    """Refuse a delivery into this very instance (422 delivery_loop, naming `Subdomain`).

    Into the job's own campaign every lead would come back to be delivered again; into
    another campaign of the instance, the receiving side refuses every lead anyway, as one
    that already passed through this instance (`peer.hops`).
    """
    ours = scope.session.get(Instance, scope.instance_id)
    if ours is None or config.Subdomain != ours.subdomain:
        return
    message = (
        f"The subdomain {config.Subdomain} is this instance's own: a Connect delivery goes to "
        "another instance (leads delivered to their own instance would go round and round)."
    )
    raise InvalidRequest(
        message,
        code="delivery_loop",
        errors=[{"loc": ["config", "Subdomain"], "msg": message, "type": "delivery_loop"}],
    )


def on_saved(session: Session, job: ProcessrJob, settings: Settings) -> None:
    """A delivery job was saved: pull the client's form, refuse a mapping that does not fit,
    subscribe to the client's verdicts, and release deliveries held for a broken mapping."""
    config = ConnectDeliveryConfig.model_validate(job.config)
    scope = TenantScope(session, job.instance_id)
    campaign = campaigns.get(scope, job.campaign_id)
    with _peer(config, settings) as peer:
        client_fields = remote.call(lambda: peer.fields(config.Campaign))
        wrong = mapping.problems(config.Field_mapping, client_fields, campaign.fields)
        if wrong:
            raise InvalidRequest(
                "The field mapping does not fit: " + "; ".join(wrong) + ".",
                code="mapping_incomplete",
                problems=wrong,
                suggested=mapping.suggest(client_fields, campaign.fields),
            )
        conn = repository.connection(scope, job.id)
        if conn is None:
            conn = DeliveryConnection(
                job_id=job.id,
                instance_id=job.instance_id,
                state="open",
                consecutive_failures=0,
                follow_client_status=True,
                client_fields=client_fields,
            )
            session.add(conn)
        conn.client_fields = client_fields
        conn.fields_pulled_at = datetime.now(UTC)
        if conn.webhook_id is None:
            our = session.get(Instance, job.instance_id)
            assert our is not None
            url = (
                instance_url(settings.instance_url, our.subdomain)
                + f"/api/v1/connect/lead-events/{job.id}"
            )
            try:
                created = peer.subscribe(url, ["lead.status_changed"])
                conn.webhook_id, conn.webhook_secret = int(created["id"]), str(created["secret"])
            except PeerError as exc:
                log.warning("the client did not take our status webhook (%s); polling only", exc)
    session.flush()
    release(scope, job.id, only_mapping=True)


def refresh_fields(session: Session, job: ProcessrJob, settings: Settings) -> list[str]:
    """Pull the client's form again; answers what no longer fits (deliveries hold meanwhile)."""
    config = ConnectDeliveryConfig.model_validate(job.config)
    scope = TenantScope(session, job.instance_id)
    conn = _connection(scope, job.id)
    with _peer(config, settings) as peer:
        conn.client_fields = remote.call(lambda: peer.fields(config.Campaign))
    conn.fields_pulled_at = datetime.now(UTC)
    campaign = campaigns.get(scope, job.campaign_id)
    wrong = mapping.problems(config.Field_mapping, conn.client_fields, campaign.fields)
    if not wrong:
        release(scope, job.id, only_mapping=True)
    return wrong


def delivers(job: ProcessrJob) -> bool:
    """Whether a job is a Connect delivery job (its type's config is a delivery config)."""
    found = REGISTRY.find(job.type)
    return found is not None and issubclass(found.config_model, ConnectDeliveryConfig)


def delivery_job(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob:
    """A Connect delivery job of this campaign, or 404 (job_not_found, not_a_delivery_job)."""
    job = processr.get(scope, campaign_id, job_id)
    if not delivers(job):
        raise NotFound(
            f"The job {job_id} is not a Connect delivery job.", code="not_a_delivery_job"
        )
    return job


def _connection(scope: TenantScope, job_id: int) -> DeliveryConnection:
    conn = repository.connection(scope, job_id, lock=True)
    if conn is None:
        raise NotFound(f"The job {job_id} has no client connection.", code="not_a_delivery_job")
    return conn


def queue_for(judged: Sequence[Judged]) -> list[Statement]:
    """The statement that gives leads that ended valid or test their delivery rows (once per
    lead and job) and their connections a drain: a few rows of SQL whatever the batch's size,
    run by the caller in the leads' own transaction."""
    rows = [
        {
            "instance_id": j.instance_id,
            "lead_id": j.lead_id,
            "campaign_id": j.campaign_id,
            "job_id": i,
        }
        for j in judged
        for i in j.job_ids
    ]
    if not rows:
        return []
    return [Statement(repository.QUEUE_DELIVERIES, {"judged": json.dumps(rows)})]


def _queue(
    session: Session, delivery: Delivery, schedule_in: TimeDeltaParams | None = None
) -> None:
    """Make sure a drain of the delivery's connection is queued (now, or when a retry is due)."""
    queue_drain(session, delivery.job_id, schedule_in)


def queue_drain(session: Session, job_id: int, schedule_in: TimeDeltaParams | None = None) -> None:
    """Queue one drain of a connection; one already waiting covers this call too.

    A drain due now holds the connection's lock: it starts when the running one ends, so the
    deliveries committed meanwhile go in one batch, instead of each commit starting a drain
    of its own beside the running one.
    """
    if schedule_in is None:
        lock = drain_lock(job_id)
        enqueue_once(session, DRAIN, queueing_lock=lock, lock=lock, connection_id=job_id)
    else:
        # No lock: a drain waiting for a retry's time must not keep out a drain due now.
        enqueue(session, DRAIN, connection_id=job_id, schedule_in=schedule_in)


def drain_lock(job_id: int, slot: int = 0) -> str:
    """The queueing lock and lock of a connection's drains in `slot` (0: the one commits
    wake; as QUEUE_DELIVERIES names it)."""
    return f"drain-{job_id}" if slot == 0 else f"drain-{job_id}-{slot}"


def next_retry_in(session: Session, job_id: int) -> float | None:
    """Seconds until the next retry of a connection is due (None: nothing waits)."""
    at = repository.next_retry_at_any_instance(session, job_id)
    return None if at is None else max(0.0, (at - datetime.now(UTC)).total_seconds())


def deliver(
    session: Session,
    delivery_id: int,
    settings: Settings,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Post one delivery once; decide what comes next from the answer."""
    d = repository.lock_delivery_any_instance(session, delivery_id)
    if d is None or d.state != "queued":
        return "nothing to do"
    with Peers(settings, transport) as peers:
        _send(session, d.job_id, [d], settings, peers)
    return d.state


def deliver_due(session: Session, job_id: int, settings: Settings, peers: Peers) -> int:
    """Claim up to `delivery_batch_size` due deliveries of a connection (rows other drains hold
    are skipped) and send them in one batch request; returns how many were claimed."""
    due = repository.claim_due_any_instance(session, job_id, settings.delivery_batch_size)
    if due:
        _send(session, job_id, due, settings, peers)
    return len(due)


class Peers:
    """The kept-alive clients of one drain, one per client instance and key."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self._open: dict[tuple[str, str], PeerClient] = {}

    def of(self, config: ConnectDeliveryConfig) -> PeerClient:
        """The client for this connection's instance and key (opened on first use)."""
        key = (config.Subdomain, config.API_Key)
        if key not in self._open:
            self._open[key] = _peer(config, self.settings, self.transport)
        return self._open[key]

    def __enter__(self) -> Peers:
        return self

    def __exit__(self, *exc: object) -> None:
        for peer in self._open.values():
            peer.close()
        self._open.clear()


def _send(
    session: Session, job_id: int, due: Sequence[Delivery], settings: Settings, peers: Peers
) -> None:
    """Send claimed deliveries of one connection in one request and record every outcome."""
    scope = TenantScope(session, due[0].instance_id)
    conn = repository.connection(scope, job_id)
    job = repository.job(scope, job_id)
    leads = repository.leads(scope, [d.lead_id for d in due])
    if job is None or conn is None:
        for d in due:
            d.state, d.last_error = "dead", "the delivery job or the lead no longer exists"
        return
    if conn.state == "paused":
        for d in due:
            d.state, d.last_error = "held", f"connection paused: {conn.paused_reason}"
        return
    config = ConnectDeliveryConfig.model_validate(job.config)
    campaign = campaigns.get(scope, job.campaign_id)
    wrong = mapping.problems(config.Field_mapping, conn.client_fields, campaign.fields)
    if wrong:
        for d in due:
            d.state, d.last_error = "held", "mapping broken: " + "; ".join(wrong)
        return
    sendable = []
    for d in due:
        if d.lead_id in leads:
            sendable.append(d)
        else:
            d.state, d.last_error = "dead", "the delivery job or the lead no longer exists"
    if not sendable:
        return
    policy = delivery_policy(settings)
    items = [
        (mapping.apply(config.Field_mapping, leads[d.lead_id].data), d.idempotency_key)
        for d in sendable
    ]
    # Each lead carries its delivery path: the instances it came through, then this one. One
    # request carries one path, so leads that came different ways go in separate requests.
    arrived = repository.arrived_via(scope, [d.lead_id for d in sendable])
    ours = scope.session.get(Instance, scope.instance_id)
    assert ours is not None
    by_path: dict[tuple[str, ...], list[int]] = {}
    for index, d in enumerate(sendable):
        by_path.setdefault((*arrived.get(d.lead_id, ()), ours.subdomain), []).append(index)
    started = time.monotonic()
    answers: list[tuple[Outcome, dict[str, Any]]] = [(Outcome(Kind.RETRY), {})] * len(sendable)
    for path, indexes in by_path.items():
        got = _post(peers.of(config), config.Campaign, [items[i] for i in indexes], policy, path)
        for index, answer in zip(indexes, got, strict=True):
            answers[index] = answer
    duration_ms = int((time.monotonic() - started) * 1000 / len(sendable))
    breaker = Breaker(settings.circuit_threshold)
    conn = _connection(scope, job_id)  # locked now, after the request: a short lock
    rows: list[dict[str, Any]] = []
    retry_in: list[int] = []
    for d, (outcome, body) in zip(sendable, answers, strict=True):
        row, schedule_s = _attempted(
            conn, d, leads[d.lead_id], outcome, body, policy, breaker, duration_ms
        )
        rows.append(row)
        if schedule_s is not None:
            retry_in.append(schedule_s)
    repository.record_outcomes(session, json.dumps(rows))
    for d in sendable:
        session.expire(d)  # the statement changed them: read again when asked
    if retry_in:  # one drain for the earliest retry covers the batch's others
        queue_drain(session, job_id, {"seconds": min(retry_in)})


def _post(
    peer: PeerClient,
    campaign_id: int,
    items: list[tuple[dict[str, Any], str]],
    policy: Policy,
    hops: tuple[str, ...],
) -> list[tuple[Outcome, dict[str, Any]]]:
    """(outcome, the client's lead or its problem) per item: one batch request, or single
    posts to a peer without the batch endpoint; a failure of the whole request is every
    item's outcome."""
    try:
        answers = peer.submit_leads(campaign_id, items, hops)
    except PeerError as exc:
        failed = Outcome.of(policy, exc.status, str(exc), exc.retry_after)
        return [(failed, _problem_of(exc))] * len(items)
    if answers is not None:
        return [
            (Outcome(Kind.DELIVERED, status), body)
            if status in (200, 201)
            else (Outcome.of(policy, status, _problem_text(peer, status, body), None), body)
            for status, body in answers
        ]
    out: list[tuple[Outcome, dict[str, Any]]] = []
    for data, key in items:
        if out and out[-1][0].kind is not Kind.DELIVERED and out[-1][0].status in (None, 429):
            out.append(out[-1])  # unreachable or throttling: the rest waits for the retry
            continue
        try:
            status, body = peer.submit_lead(campaign_id, data, key, hops)
            out.append((Outcome(Kind.DELIVERED, status), body))
        except PeerError as exc:
            out.append(
                (Outcome.of(policy, exc.status, str(exc), exc.retry_after), _problem_of(exc))
            )
    return out


def _problem_of(exc: PeerError) -> dict[str, Any]:
    return {"code": exc.code} if exc.code else {}


def _problem_text(peer: PeerClient, status: int, problem: dict[str, Any]) -> str:
    detail = problem.get("detail") or problem.get("title") or ""
    return f"{peer.subdomain} answered {status}: {detail}"


def _attempted(
    conn: DeliveryConnection,
    d: Delivery,
    lead: Lead,
    outcome: Outcome,
    body: dict[str, Any],
    policy: Policy,
    breaker: Breaker,
    duration_ms: int,
) -> tuple[dict[str, Any], int | None]:
    """One delivery after its attempt, as a RECORD_OUTCOMES row (its columns, the attempt, the
    lead's history entry), and the seconds until its retry's drain (None: no retry); counts
    the attempt towards the connection's circuit."""
    row: dict[str, Any] = {
        "id": d.id,
        "lead_id": d.lead_id,
        "state": d.state,
        "attempts": d.attempts + 1,
        "client_lead_id": d.client_lead_id,
        "client_status": d.client_status,
        "client_score": d.client_score,
        "client_max_score": d.client_max_score,
        "client_flags": d.client_flags,
        "last_error": outcome.error,
        "delivered_at": _iso(d.delivered_at),
        "next_attempt_at": _iso(d.next_attempt_at),
        "status_code": outcome.status,
        "outcome": outcome.kind.value,
        "error": outcome.error,
        "duration_ms": duration_ms,
        "event": None,
        "detail": None,
    }
    if outcome.kind is Kind.DELIVERED:
        row["client_lead_id"] = int(body["id"])
        row["client_status"] = str(body.get("status"))
        row["client_score"], row["client_max_score"] = body.get("score"), body.get("max_score")
        row["client_flags"] = list(body.get("flags") or [])
    if body.get("code") != "delivery_loop":
        # A lead refused as one that came round says nothing about the client's health: it
        # neither counts towards the circuit breaker nor resets it.
        conn.consecutive_failures = breaker.count(conn.consecutive_failures, outcome)
    step = next_step(policy, row["attempts"], outcome)
    metrics.DELIVERY_ATTEMPTS.labels(outcome.kind.value).inc()
    schedule_s: int | None = None
    if step.action is Action.DONE:
        now = datetime.now(UTC)
        row.update(state="delivered", last_error=None, delivered_at=now.isoformat())
        metrics.DELIVERED.inc()
        metrics.DELIVERY_LATENCY.observe((now - lead.created_at).total_seconds())
        row["event"], row["detail"] = (
            "delivered",
            {
                "delivery_id": d.id,
                "client_lead_id": row["client_lead_id"],
                "client_status": row["client_status"],
            },
        )
    elif step.action is Action.RETRY:
        row["next_attempt_at"] = (datetime.now(UTC) + timedelta(seconds=step.wait_s)).isoformat()
        schedule_s = step.schedule_s
    else:
        row["state"] = "dead"
        row["event"], row["detail"] = (
            "delivery_failed",
            {
                "delivery_id": d.id,
                "error": outcome.error,
            },
        )
    if breaker.opens(conn.consecutive_failures) and conn.state == "open":
        conn.state, conn.paused_at, conn.paused_by = "paused", datetime.now(UTC), "breaker"
        conn.paused_reason = (
            f"{conn.consecutive_failures} deliveries in a row failed; last: {outcome.error}"
        )
    return row, schedule_s


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def spread(session: Session, job_id: int, settings: Settings) -> None:
    """A backlog larger than a batch: queue the connection's other drains, so up to
    `delivery_drains_per_connection` send it at once (each claims rows the others skip)."""
    for slot in range(1, settings.delivery_drains_per_connection):
        lock = drain_lock(job_id, slot)
        enqueue_once(session, DRAIN, queueing_lock=lock, lock=lock, connection_id=job_id, slot=slot)


def release(scope: TenantScope, job_id: int, *, only_mapping: bool = False) -> int:
    """Queue the held deliveries of a job again, oldest first."""
    count = 0
    for d in repository.held(scope, job_id):
        if only_mapping and not (d.last_error or "").startswith("mapping broken"):
            continue
        d.state, d.next_attempt_at = "queued", None
        _queue(scope.session, d)
        count += 1
    return count


def resume(scope: TenantScope, job_id: int) -> int:
    """Close the circuit and drain the held backlog in order."""
    conn = _connection(scope, job_id)
    conn.state, conn.consecutive_failures = "open", 0
    conn.paused_reason = conn.paused_at = conn.paused_by = None
    return release(scope, job_id)


def pause(scope: TenantScope, job_id: int, reason: str) -> None:
    """Stop deliveries of a connection by hand."""
    conn = _connection(scope, job_id)
    conn.state, conn.paused_at, conn.paused_reason = "paused", datetime.now(UTC), reason
    conn.paused_by = "user"


def probe_paused(
    session: Session,
    settings: Settings,
    cool_down_s: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Half-open the circuits the breaker opened: a client that answers again is resumed."""
    cutoff = datetime.now(UTC) - timedelta(seconds=cool_down_s)
    resumed = 0
    for conn in repository.breaker_paused_any_instance(session, cutoff):
        scope = TenantScope(session, conn.instance_id)
        job = repository.job(scope, conn.job_id)
        if job is None:
            continue
        config = ConnectDeliveryConfig.model_validate(job.config)
        try:
            with _peer(config, settings, transport) as peer:
                granted = {c["id"] for c in peer.campaigns()}
        except PeerError:
            conn.paused_at = datetime.now(UTC)  # still failing: wait another cool-down
            continue
        if config.Campaign in granted:
            resume(scope, conn.job_id)
            resumed += 1
    return resumed


def retry(session: Session, deliveries: Sequence[Delivery]) -> int:
    """Give dead deliveries a fresh set of attempts."""
    for d in deliveries:
        d.state, d.attempts, d.last_error, d.next_attempt_at = "queued", 0, None, None
        _queue(session, d)
    return len(deliveries)


def retry_delivery(scope: TenantScope, delivery_id: int) -> Delivery:
    """Retry a dead (or held) delivery now; anything else is not_retryable."""
    d = repository.get(scope, delivery_id)
    if d.state not in ("dead", "held"):
        raise InvalidRequest(
            f"The delivery is {d.state}; only dead or held ones are retried.", code="not_retryable"
        )
    retry(scope.session, [d])
    return d


def retry_dead(scope: TenantScope, campaign_id: int) -> int:
    """Retry every dead delivery of a campaign, oldest first."""
    return retry(scope.session, repository.dead_of_campaign(scope, campaign_id))


def apply_client_status(
    session: Session, d: Delivery, status: str, reason: str | None, user: str | None, via: str
) -> bool:
    """The client's later verdict on a delivered lead; True when something changed."""
    if status == d.client_status:
        return False
    scope = TenantScope(session, d.instance_id)
    lead = repository.lead(scope, d.lead_id, lock=True)
    conn = repository.connection(scope, d.job_id)
    if lead is None:
        return False
    previous_client = d.client_status
    d.client_status = status
    record(
        scope,
        lead,
        "client_status_changed",
        **{"from": previous_client, "to": status, "reason": reason, "user": user, "via": via},
    )
    if (
        conn is not None
        and conn.follow_client_status
        and status in ("valid", "invalid")
        and lead.status != status
    ):
        previous = lead.status
        lead.status = status
        record(
            scope,
            lead,
            "status_changed",
            **{
                "from": previous,
                "to": status,
                "reason": f"the client marked it {status}: {reason or 'no reason given'}",
                "user": user,
                "by": "client",
            },
        )
        keys_follow(scope, lead, "client")
    session.flush()
    return True


def receive_status_event(
    session: Session, instance_id: int, job_id: int, body: bytes, headers: dict[str, str]
) -> bool:
    """A signed `lead.status_changed` from the client; False for a replay."""
    scope = TenantScope(session, instance_id)
    conn = repository.connection(scope, job_id)
    if conn is None or not conn.webhook_secret:
        raise NotFound(inbound.NOTHING_HERE, code="mirror_gone")
    source = f"delivery:{job_id}"
    event = inbound.verify(conn.webhook_secret, body, headers, source)
    if event.type != "lead.status_changed":
        return False  # nothing else is sent here; acknowledged, not acted on
    data = inbound.data_of(event, inbound.LeadStatusData)
    d = repository.of_client_lead(scope, job_id, data.lead_id)
    if d is None:
        log.warning("refused a status event for a lead we never delivered: %s", data)
        raise InvalidRequest("No lead of ours has that client lead id.", code="unknown_lead")
    if not inbound.record_once(session, instance_id, source, headers, event):
        return False
    apply_client_status(session, d, data.status, data.reason, data.user, via="event")
    return True


def poll_statuses(
    session: Session,
    settings: Settings,
    limit: int = 200,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Ask clients for the verdicts of recently delivered leads (covers lost events)."""
    since = datetime.now(UTC) - timedelta(days=settings.status_poll_days)
    rows = repository.recently_delivered_any_instance(session, since, limit)
    changed = 0
    by_job: dict[int, list[Delivery]] = {}
    for d in rows:
        by_job.setdefault(d.job_id, []).append(d)
    for job_id, ds in by_job.items():
        job = repository.job(TenantScope(session, ds[0].instance_id), job_id)
        if job is None:
            continue
        config = ConnectDeliveryConfig.model_validate(job.config)
        try:
            with _peer(config, settings, transport) as peer:
                for d in ds:
                    assert d.client_lead_id is not None
                    got = peer.lead(d.client_lead_id)
                    d.status_checked_at = datetime.now(UTC)
                    if apply_client_status(session, d, str(got["status"]), None, None, via="poll"):
                        changed += 1
        except PeerError as exc:
            log.info("status poll of %s failed: %s", config.Subdomain, exc)
            for d in ds:  # tried: the next poll asks the other connections first
                d.status_checked_at = datetime.now(UTC)
    return changed


def lead_deliveries(scope: TenantScope, lead_id: int) -> list[dict[str, Any]]:
    """The lead's deliveries to clients, with the client's answer."""
    return [
        {
            "id": d.id,
            "state": d.state,
            "attempts": d.attempts,
            "client_lead_id": str(d.client_lead_id) if d.client_lead_id is not None else None,
            "client_status": d.client_status,
        }
        for d in repository.for_lead(scope, lead_id)
    ]
