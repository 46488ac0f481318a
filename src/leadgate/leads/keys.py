"""The keys leads claim (`processr.plugin.Claim`), as every driver locks, probes and writes them.

A job type that claims keys (a duplicate check) says which keys a lead claims; the drivers make
the check and the write atomic, the same way for a batch of the intake and for one lead of
`lifecycle.submit` / `rejudge`, in the lead's write transaction:

1. lock every key of the batch (`LOCK_KEYS`: one advisory lock per key, in sorted order, so two
   batches never wait for each other in a circle), so a second batch with one of these keys
   waits until this one has committed its keys;
2. probe each distinct (key, states that count) once (`PROBE_KEYS`): the newest earlier lead;
3. judge the leads in submission order, each through a `LeadContext` holding its answers: the
   probe's, or an earlier lead of the same batch whose state counts (the first of a batch wins);
4. write the leads and their keys (the state each lead ended in) in the same transaction.

This module builds the statements' parameters and reads their answers; it runs nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from leadgate.processr.plugin import Claim, Earlier

Rows = Sequence[Sequence[Any]]

# An advisory lock id is a signed 64-bit integer.
_INT64 = 1 << 63


@dataclass(frozen=True, slots=True)
class Claimant:
    """A lead about to be judged, with the keys it claims.

    `before` is the lead's own id when it is stored already (judged again): its earlier leads
    are the ones stored before it, and `at` is when it came (the window is measured from
    there). A new lead has neither: every stored lead is earlier, and it comes now.
    """

    instance_id: int
    claims: tuple[Claim, ...]
    before: int | None = None
    at: datetime | None = None


def lock_id(instance_id: int, claim: Claim) -> int:
    """The advisory lock of a key (of an instance and scope; the states do not matter)."""
    seed = hashlib.sha256(f"{instance_id}:{claim.scope_ref}:".encode() + claim.digest).digest()
    return int.from_bytes(seed[:8], "big") - _INT64


def lock_params(claimants: Iterable[Claimant]) -> dict[str, Any]:
    """LOCK_KEYS's parameters: every key of the batch once, sorted."""
    ids = {lock_id(c.instance_id, claim) for c in claimants for claim in c.claims}
    return {"locks": sorted(ids)}


_Probe = tuple[int, str, bytes, frozenset[str], int | None]


def _probe_of(claimant: Claimant, claim: Claim) -> _Probe:
    return (claimant.instance_id, claim.scope_ref, claim.digest, claim.counts, claimant.before)


@dataclass
class Earliers:
    """The answers of one batch's probe, and the leads of the batch judged so far."""

    probes: dict[_Probe, int]
    found: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    now: datetime | None = None
    ids: list[int] = field(default_factory=list)
    # (instance, scope_ref, digest) -> (lead id, state) of the batch's leads, in order.
    batch: dict[tuple[int, str, bytes], list[tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def asking(cls, claimants: Iterable[Claimant]) -> Earliers:
        """What to probe for these leads: each distinct (key, states, before) once."""
        probes: dict[_Probe, int] = {}
        for claimant in claimants:
            for claim in claimant.claims:
                probes.setdefault(_probe_of(claimant, claim), len(probes))
        return cls(probes)

    def params(self, drawn: int) -> dict[str, Any]:
        """PROBE_KEYS's parameters; `drawn`: how many lead ids to draw for the batch."""
        query = [
            {
                "n": n,
                "instance_id": instance_id,
                "scope_ref": scope_ref,
                "digest": digest.hex(),
                "states": sorted(states),
                "before": before,
            }
            for (instance_id, scope_ref, digest, states, before), n in self.probes.items()
        ]
        return {"q": orjson.dumps(query).decode(), "n": drawn}

    def answered(self, rows: Rows) -> None:
        """Take PROBE_KEYS's answer: the earlier leads found, the time, the drawn ids."""
        for n, lead_id, at, now, ids in rows:
            if lead_id is not None:
                self.found[n] = (lead_id, at)
            self.now = now
            if ids is not None:
                self.ids = sorted(ids)

    def for_lead(self, claimant: Claimant) -> dict[Claim, Earlier | None]:
        """The earlier lead of each of the lead's claims: the newest of the batch (judged
        before it, in a state that counts), else the probe's."""
        now = claimant.at or self.now
        assert now is not None, "answered() first"
        out: dict[Claim, Earlier | None] = {}
        for claim in claimant.claims:
            key = (claimant.instance_id, claim.scope_ref, claim.digest)
            same = next(
                (i for i, state in reversed(self.batch.get(key, [])) if state in claim.counts),
                None,
            )
            if same is not None:
                out[claim] = Earlier(same, now, timedelta(0))
                continue
            found = self.found.get(self.probes[_probe_of(claimant, claim)])
            out[claim] = Earlier(found[0], found[1], now - found[1]) if found else None
        return out

    def judged(self, claimant: Claimant, lead_id: int, state: str) -> None:
        """A lead of the batch was judged (`state`: what its keys hold): later leads see it."""
        for claim in claimant.claims:
            key = (claimant.instance_id, claim.scope_ref, claim.digest)
            self.batch.setdefault(key, []).append((lead_id, state))


def key_rows(claimant: Claimant, state: str, **extra: Any) -> list[dict[str, Any]]:
    """A lead's rows for WRITE_CLAIMING (`ord=`) or WRITE_KEYS (`lead_id=`, `at=`): one per
    key, however many claims (with other states that count) name it."""
    keys = dict.fromkeys((claim.scope_ref, claim.digest) for claim in claimant.claims)
    return [
        {
            "instance_id": claimant.instance_id,
            "scope_ref": scope_ref,
            "digest": digest.hex(),
            "state": state,
            **extra,
        }
        for scope_ref, digest in keys
    ]


def keys_param(rows: list[dict[str, Any]]) -> str:
    """Key rows as the statements take them (a JSON document)."""
    return orjson.dumps(rows).decode()


def key_state(status: str, by: str) -> str:
    """What a lead's keys hold after its status changed: `returned` when a person or the client
    (`by`) marked it invalid, else the status."""
    return "returned" if status == "invalid" and by in ("user", "client") else status
