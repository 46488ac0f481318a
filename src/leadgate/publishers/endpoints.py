"""Admin API: publishers and their API keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.publishers import service
from leadgate.publishers.schemas import ApiKeyCreated, PublisherCreate, PublisherOut

router = APIRouter(tags=["publishers"], responses=problem_responses(401, 404, 409, 413, 422))


@router.post("/publishers", status_code=201, response_model=PublisherOut)
def create_publisher(body: PublisherCreate, caller: Admin, session: DbSession) -> PublisherOut:
    """Create a publisher (a supplier of leads)."""
    p = service.create(TenantScope(session, caller.instance_id), body.name)
    return PublisherOut(id=p.id, name=p.name)


@router.get("/publishers", response_model=Page[PublisherOut])
def list_publishers(caller: Admin, session: DbSession) -> Page[PublisherOut]:
    """Every publisher of the instance."""
    rows = service.list_all(TenantScope(session, caller.instance_id))
    return Page[PublisherOut](items=[PublisherOut(id=p.id, name=p.name) for p in rows])


@router.post("/publishers/{publisher_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
def create_api_key(publisher_id: Id, caller: Admin, session: DbSession) -> ApiKeyCreated:
    """Issue an API key for the publisher. The key is shown only in this answer."""
    return service.issue_key(TenantScope(session, caller.instance_id), publisher_id)


@router.delete("/publishers/{publisher_id}/api-keys/{key_id}", status_code=204)
def revoke_api_key(publisher_id: Id, key_id: Id, caller: Admin, session: DbSession) -> Response:
    """Revoke an API key at once."""
    service.revoke_key(TenantScope(session, caller.instance_id), publisher_id, key_id)
    return Response(status_code=204)
