"""The config of a mirrored check (both Connect check types share it)."""

from __future__ import annotations

from pydantic import Field

from leadgate.peer.config import ClientConnection
from leadgate.processr.plugin import FieldName


class ConnectConfig(ClientConnection):
    """Where the client's check lives, and which of our fields it applies to."""

    Campaign_Processr_Job: int = Field(
        ge=1,
        title="Campaign Processr Job",
        description="The client's check to mirror (only checks the client shares are listed).",
        json_schema_extra={"x-options": "remote", "x-depends-on": ["Campaign"]},
    )
    Field_name: FieldName = Field(
        title="Field name",
        description="Which of OUR campaign's fields the client's check applies to.",
        json_schema_extra={"x-options": "fields"},
    )
    Pass_if_job_is_gone: bool = Field(
        default=False,
        title="Pass if job is gone",
        description="When the client deletes or hides the check: pass leads (true) or fail "
        "them with a clear flag (false).",
    )
