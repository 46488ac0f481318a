"""A prototype of the lead hot path with the changes bench/RESULTS.md proposes (bench only).

Not product code: it shows what the proposals buy, on the same machine, with the same Processr.
The real path sends 11 statements in 2 transactions through the ORM (key, grant, campaign twice,
lead, history, jobs, list versions, update, history, a re-read of `updated_at`) plus a pool
pre-ping per request. This one keeps its guarantees (the lead is committed `pending` before it is
judged; judging is the real `processr.engine.judge` over the real compiled-list cache) with
two autocommitted statements over plain psycopg:

1. one statement checks the key (not revoked), the grant, the campaign (active, known fields),
   inserts the lead and its `received` history row, and returns the versions of the campaign's
   jobs and of the lists they use;
2. the verdict: one statement updates the lead and inserts its history rows.

Job definitions are cached per campaign and reloaded when the (id, version) list the first
statement returns differs; compiled lists come from `processr.judging.MATCHERS` (per version).
The rate limit is counted on the key id learnt from an earlier request of the same secret.
Anything unusual (first sight of a secret, refusal, a Connect job) goes to the real code.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from functools import partial
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leadgate.db import libpq_url
from leadgate.kit.secrets import hash_secret
from leadgate.lists.service import ListMoved, values_at
from leadgate.processr.engine import JobSpec
from leadgate.processr.engine import judge as decide
from leadgate.processr.judging import MATCHERS, to_spec
from leadgate.processr.models import ProcessrJob

ACCEPT = """
WITH k AS (
    SELECT k.instance_id, k.publisher_id, k.id AS key_id
    FROM publisher_api_keys k JOIN instances i ON i.id = k.instance_id
    WHERE i.subdomain = %(sub)s AND k.key_hash = %(hash)s AND k.revoked_at IS NULL
), c AS (
    SELECT c.id, c.instance_id, k.publisher_id, k.key_id
    FROM campaigns c
    JOIN k ON k.instance_id = c.instance_id
    JOIN campaign_publishers g ON g.campaign_id = c.id AND g.publisher_id = k.publisher_id
    WHERE c.id = %(cid)s AND c.status = 'active'
      AND NOT EXISTS (
          SELECT 1 FROM jsonb_object_keys(%(data)s) AS f(name)
          WHERE f.name NOT IN (SELECT x->>'name' FROM jsonb_array_elements(c.fields) AS x))
), lead AS (
    INSERT INTO leads (instance_id, campaign_id, publisher_id, data, status, score, max_score,
                       flags, jobs, request_hash)
    SELECT c.instance_id, c.id, c.publisher_id, %(data)s, 'pending', 0, 0, '[]', '[]', %(rh)s
    FROM c
    RETURNING id, instance_id, publisher_id
), hist AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT id, 'received', jsonb_build_object('publisher_id', publisher_id) FROM lead
)
SELECT lead.id, lead.instance_id, lead.publisher_id,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(j.id, j.version) ORDER BY j.id), '[]')
     FROM processr_jobs j WHERE j.campaign_id = %(cid)s) AS jobs,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(l.id, l.version, l.name)), '[]')
     FROM validation_lists l WHERE l.id = ANY(%(lists)s) AND l.instance_id = lead.instance_id)
FROM lead
"""

VERDICT = """
WITH u AS (
    UPDATE leads SET status = %(status)s, score = %(score)s, max_score = %(max)s,
        flags = %(flags)s, jobs = %(jobs)s, judged_at = now(), updated_at = now()
    WHERE id = %(id)s RETURNING updated_at
), h AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT %(id)s, e.event, e.detail
    FROM jsonb_to_recordset(%(hist)s) AS e(event text, detail jsonb)
)
SELECT updated_at FROM u
"""


class Refused(Exception):
    """The fast path cannot answer this request: the real code must (errors, first sight)."""


class _Ctx:
    """JobContext over list versions read by the first statement."""

    def __init__(self, engine: Engine, lists: dict[int, tuple[int, str]]) -> None:
        self.engine = engine
        self.lists = lists

    def compiled_list(self, list_id: int) -> Any:
        found = self.lists.get(list_id)
        if found is None:
            return None
        with Session(self.engine) as session:
            try:
                return MATCHERS.get(
                    list_id, found[0], partial(values_at, session, list_id, found[0])
                )
            except ListMoved:
                return None  # a newer version committed meanwhile: the next lead gets it

    def list_name(self, list_id: int) -> str:
        found = self.lists.get(list_id)
        return found[1] if found else f"#{list_id}"

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> None:
        return None


class LeanPath:
    """Two round trips per lead; see the module docstring."""

    def __init__(self, engine: Engine, pool_size: int = 10) -> None:
        self.engine = engine
        self.pool = ConnectionPool(
            libpq_url(engine.url.render_as_string(hide_password=False)),
            min_size=2,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=True,
        )
        self._lock = threading.Lock()
        self.key_ids: dict[str, int] = {}
        self.jobs: dict[int, tuple[Any, list[JobSpec], list[int]]] = {}

    def key_id(self, secret: str) -> int | None:
        """The key id of a secret seen before (for the rate limit), else None."""
        return self.key_ids.get(hash_secret(secret))

    def remember(self, secret: str, key_id: int) -> None:
        self.key_ids[hash_secret(secret)] = key_id

    def _jobs(self, campaign_id: int, fingerprint: Any) -> tuple[list[JobSpec], list[int]]:
        cached = self.jobs.get(campaign_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1], cached[2]
        with Session(self.engine) as session:
            rows = list(session.query(ProcessrJob).filter(ProcessrJob.campaign_id == campaign_id))
        if any(j.type.startswith("connect_") for j in rows):
            raise Refused("Connect jobs need mirrors: the real path judges them")
        specs = [to_spec(j) for j in rows]
        list_ids = sorted(
            {j.config["list_id"] for j in rows if isinstance(j.config.get("list_id"), int)}
        )
        fp = sorted([j.id, j.version] for j in rows)
        with self._lock:
            self.jobs[campaign_id] = (fp, specs, list_ids)
        return specs, list_ids

    def submit(
        self, subdomain: str, secret: str, campaign_id: int, data: dict[str, Any], digest: str
    ) -> dict[str, Any]:
        cached = self.jobs.get(campaign_id)
        list_ids = cached[2] if cached else []
        with self.pool.connection() as conn:
            row = conn.execute(
                ACCEPT,
                {
                    "sub": subdomain,
                    "hash": hash_secret(secret),
                    "cid": campaign_id,
                    "data": Jsonb(data),
                    "rh": digest,
                    "lists": list_ids,
                },
            ).fetchone()
            if row is None:
                raise Refused("key, grant, campaign or fields refused")
            lead_id, _instance_id, _publisher_id, fingerprint, versions = row
            specs, wanted = self._jobs(campaign_id, fingerprint)
            lists = {int(i): (int(v), str(n)) for i, v, n in versions}
            if set(wanted) - set(lists):  # the jobs changed: read the versions they need now
                got = conn.execute(
                    "SELECT id, version, name FROM validation_lists WHERE id = ANY(%s)", (wanted,)
                ).fetchall()
                lists = {int(i): (int(v), str(n)) for i, v, n in got}
            verdict = decide(data, specs, _Ctx(self.engine, lists))
            flags = [
                {"job_id": f.job_id, "job_type": f.job_type, "code": f.code, "message": f.message}
                for f in verdict.flags
            ]
            runs = [
                {
                    "job_id": j.job_id,
                    "type": j.type,
                    "passed": j.passed,
                    "mirror_version": j.mirror_version,
                }
                for j in verdict.jobs
            ]
            detail = {
                "trigger": "received",
                "status": verdict.status,
                "score": verdict.score,
                "max_score": verdict.max_score,
                "reason": verdict.reason,
            }
            hist = [
                {"event": "judged" if verdict.status != "pending" else "waiting", "detail": detail}
            ]
            if verdict.status != "pending":
                hist.append(
                    {
                        "event": "status_changed",
                        "detail": {
                            "from": "pending",
                            "to": verdict.status,
                            "reason": verdict.reason,
                            "by": "processr",
                        },
                    }
                )
            updated = conn.execute(
                VERDICT,
                {
                    "id": lead_id,
                    "status": verdict.status,
                    "score": verdict.score,
                    "max": verdict.max_score,
                    "flags": Jsonb(flags),
                    "jobs": Jsonb(runs),
                    "hist": Jsonb(hist),
                },
            ).fetchone()
        at = updated[0] if updated else datetime.now(UTC)
        return {
            "id": lead_id,
            "status": verdict.status,
            "score": verdict.score,
            "max_score": verdict.max_score,
            "flags": flags,
            "updated_at": at.isoformat(),
        }


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
