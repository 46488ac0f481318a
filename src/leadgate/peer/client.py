"""The one client for calling another leadgate instance's Publisher API.

Errors are typed: `PeerUnavailable` (network, 5xx, 429, rejected credentials, no instance of that
subdomain: retry later, never "gone"), `PeerGone` (404 job_gone / campaign_not_found),
`PeerRejected` (any other 4xx: do not retry the same request). Only the worker layer turns them
into retries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from leadgate.config import Settings
from leadgate.kit.http import tls_context
from leadgate.kit.outbound import parse_retry_after
from leadgate.kit.subdomains import check_subdomain
from leadgate.peer import hops as delivery_path
from leadgate.webhooks.urls import instance_url


class PeerError(Exception):
    """A call to a peer instance did not succeed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class PeerUnavailable(PeerError):
    """Try again later: network trouble, 5xx, 429, or credentials the peer refuses (401/403)."""

    @property
    def credentials_rejected(self) -> bool:
        return self.status in (401, 403)

    @property
    def no_instance(self) -> bool:
        """The deployment has no instance of that subdomain (a typo, or not created yet)."""
        return self.code == NO_INSTANCE


NO_INSTANCE = "instance_not_found"


class PeerGone(PeerError):
    """The job or campaign is not (or no longer) there for this key."""


class PeerRejected(PeerError):
    """The peer refused this request for good (a 4xx other than 401/403/404/429)."""


@dataclass(frozen=True)
class NotModified:
    etag: str | None


# Where calls go when a client is made without a transport: the network, unless a test routes
# every peer call of the process to an app in the process (`routed_to`).
_DEFAULT_TRANSPORT: httpx.BaseTransport | None = None


@contextlib.contextmanager
def routed_to(transport: httpx.BaseTransport) -> Iterator[None]:
    """Send every peer call made inside the block through `transport` (tests: in process)."""
    global _DEFAULT_TRANSPORT
    before, _DEFAULT_TRANSPORT = _DEFAULT_TRANSPORT, transport
    try:
        yield
    finally:
        _DEFAULT_TRANSPORT = before


class PeerClient:
    """Calls `{instance URL}/api/v1/publisher/...` of one client instance with one key."""

    def __init__(
        self,
        template: str,
        subdomain: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check_subdomain(subdomain)  # before any URL is built from it
        self.subdomain = subdomain
        self.base = instance_url(template, subdomain) + "/api/v1/publisher"
        self._http = httpx.Client(
            base_url=self.base,
            verify=tls_context(),
            headers={"Authorization": f"Bearer {api_key}", "Accept-Encoding": "gzip"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport or _DEFAULT_TRANSPORT,
            follow_redirects=False,
        )

    @classmethod
    def of(
        cls,
        settings: Settings,
        subdomain: str,
        api_key: str,
        transport: httpx.BaseTransport | None = None,
    ) -> PeerClient:
        """A client for one client instance, built from this deployment's settings."""
        return cls(
            settings.instance_url,
            subdomain,
            api_key,
            timeout=settings.outbound_timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(
                f"{self.subdomain} could not be reached: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code < 400 or response.status_code == 304:
            return response
        code = _problem_code(response)
        detail = _problem_detail(response)
        status = response.status_code
        if status == 404 and code == NO_INSTANCE:
            raise PeerUnavailable(
                f"no instance {self.subdomain} at this deployment", status=status, code=code
            )
        if status in (401, 403):
            raise PeerUnavailable(
                f"{self.subdomain} refused the API key ({status}): {detail}",
                status=status,
                code=code,
            )
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise PeerUnavailable(
                f"{self.subdomain} answered {status}: {detail}",
                status=status,
                code=code,
                retry_after=retry_after,
            )
        if status == 404 and code in ("job_gone", "campaign_not_found"):
            raise PeerGone(f"{self.subdomain}: {detail}", status=status, code=code)
        raise PeerRejected(
            f"{self.subdomain} answered {status}: {detail}", status=status, code=code
        )

    def campaigns(self) -> list[dict[str, Any]]:
        """Campaigns granted to this key."""
        items: list[dict[str, Any]] = self._send("GET", "/campaigns").json()["items"]
        return items

    def fields(self, campaign_id: int) -> list[dict[str, Any]]:
        """The form fields of a granted campaign."""
        items: list[dict[str, Any]] = self._send("GET", f"/campaigns/{campaign_id}/fields").json()[
            "items"
        ]
        return items

    def jobs(self, campaign_id: int, job_type: str | None = None) -> list[dict[str, Any]]:
        """The visible jobs of a granted campaign."""
        params = {"type": job_type} if job_type else None
        items: list[dict[str, Any]] = self._send(
            "GET", f"/campaigns/{campaign_id}/jobs", params=params
        ).json()["items"]
        return items

    def job(
        self, campaign_id: int, job_id: int, etag: str | None = None
    ) -> dict[str, Any] | NotModified:
        """A job's definition, or NotModified when `etag` is still current."""
        headers = {"If-None-Match": etag} if etag else None
        response = self._send("GET", f"/campaigns/{campaign_id}/jobs/{job_id}", headers=headers)
        if response.status_code == 304:
            return NotModified(response.headers.get("etag", etag))
        body: dict[str, Any] = response.json()
        body["_etag"] = response.headers.get("etag")
        return body

    def values(self, campaign_id: int, job_id: int, since: int | None) -> dict[str, Any]:
        """List values: a delta since `since`, or the full set."""
        params = {"since": since} if since is not None else None
        body: dict[str, Any] = self._send(
            "GET", f"/campaigns/{campaign_id}/jobs/{job_id}/values", params=params
        ).json()
        return body

    def subscribe(self, url: str, events: list[str]) -> dict[str, Any]:
        """Subscribe `url` to events; answers {id, secret}."""
        body: dict[str, Any] = self._send(
            "POST", "/webhooks", json={"url": url, "events": events}
        ).json()
        return body

    def unsubscribe(self, webhook_id: int) -> None:
        """End a subscription (already gone is fine)."""
        with contextlib.suppress(PeerGone, PeerRejected):
            self._send("DELETE", f"/webhooks/{webhook_id}")

    def submit_lead(
        self,
        campaign_id: int,
        data: dict[str, Any],
        idempotency_key: str,
        hops: Sequence[str] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Post a lead with an Idempotency-Key and its delivery path (`peer.hops`: the
        instances it came through, this one last); answers (status code, body)."""
        headers = {"Idempotency-Key": idempotency_key}
        if hops:
            headers[delivery_path.HEADER] = delivery_path.render(hops)
        response = self._send(
            "POST", f"/campaigns/{campaign_id}/leads", json={"data": data}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return response.status_code, body

    def submit_leads(
        self,
        campaign_id: int,
        items: list[tuple[dict[str, Any], str]],
        hops: Sequence[str] = (),
    ) -> list[tuple[int, dict[str, Any]]] | None:
        """Post up to 500 leads (data, Idempotency-Key) that share one delivery path in one
        request; answers (status, lead or problem) per lead, in order, or None when the peer
        has no batch endpoint (then post them one by one). A failure of the whole request
        raises like `submit_lead`."""
        if self.base in _NO_BATCH:
            return None
        headers = {delivery_path.HEADER: delivery_path.render(hops)} if hops else None
        try:
            response = self._send(
                "POST",
                f"/campaigns/{campaign_id}/leads/batch",
                json={"items": [{"idempotency_key": k, "data": d} for d, k in items]},
                headers=headers,
            )
        except PeerRejected as exc:
            if exc.status in (404, 405) and exc.code not in ("campaign_not_found", "job_gone"):
                _NO_BATCH.add(self.base)  # an older peer: single posts from now on
                return None
            raise
        answers = response.json()["items"]
        return [(int(a["status"]), a.get("lead") or a.get("problem") or {}) for a in answers]

    def lead(self, lead_id: int) -> dict[str, Any]:
        """The status of a lead we sent."""
        body: dict[str, Any] = self._send("GET", f"/leads/{lead_id}").json()
        return body


# Peers (by base URL) that answered 404 for the batch endpoint, in this process.
_NO_BATCH: set[str] = set()


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if code is not None else None


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return response.reason_phrase
