"""What a page dependency raises when a page cannot be shown; `ui.router` turns it into a page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from leadgate.ui.templating import base_url


class SignInRequired(Exception):
    """No valid session for this instance: the page sends the browser to sign in."""

    def __init__(self, subdomain: str, next_path: str) -> None:
        super().__init__(next_path)
        self.subdomain = subdomain
        self.next_path = next_path

    @property
    def location(self) -> str:
        return f"{base_url(self.subdomain)}/sign-in?next={quote(self.next_path, safe='/')}"


class PasswordChangeRequired(Exception):
    """A machine-chosen password is still in use: everything but the password page waits."""

    def __init__(self, subdomain: str) -> None:
        super().__init__(subdomain)
        self.location = f"{base_url(subdomain)}/password"


class PageForbidden(Exception):
    """Signed in, but this is not for them (a publisher on an admin page, a bad CSRF token)."""

    def __init__(self, me: Any, title: str, detail: str) -> None:
        super().__init__(detail)
        self.me = me
        self.title = title
        self.detail = detail
