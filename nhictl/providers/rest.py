"""JSON over HTTPS for the live collectors: bounded retries, paging, one-line errors.

Both collectors send every call through `RestClient`, so throttling and paging behave the same
on both clouds (GCP over google-auth's ``AuthorizedSession``, Azure over a ``requests.Session``
that carries an azure-identity bearer token):

- 429, 500, 502, 503, 504 and connection errors are retried, ``max_attempts`` tries in all.
  The wait honours ``Retry-After`` (seconds or an HTTP date; Azure's ``retry-after-ms`` too),
  capped at ``max_delay_s``; without it, exponential backoff from ``base_delay_s`` with jitter
  (50-100 % of the step), also capped.
- Paging: Google's ``nextPageToken`` -> ``pageToken``; Azure's ``nextLink`` /
  ``@odata.nextLink`` (absolute URLs), followed only on the origin of the first request, so a
  bearer token is never sent to another host. Redirects are not followed either.
- Failures are `ApiError` with a one-line message: the status, the API's error code and its
  own message. Never headers, never a request body.

requests is imported here only (google-auth's transport and azure-core both install it).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nhictl.core.errors import ConfigError

if TYPE_CHECKING:
    import requests

LOG = logging.getLogger("nhictl.collect")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_MESSAGE = 300

Progress = Callable[[str, int, int], None]  # (stage, done, total), as the AWS collector


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one call."""

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


class ApiError(Exception):
    """An API call that failed for good. ``status`` 0: no HTTP answer (network, TLS)."""

    def __init__(self, status: int, code: str, message: str, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.url = url

    def __str__(self) -> str:
        if self.status == 0:
            return f"no answer from {self.url}: {self.message}"
        detail = f"{self.code}: {self.message}" if self.message else self.code
        return f"HTTP {self.status} {detail}".rstrip()


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def base_url(url: str, what: str) -> str:
    """An endpoint override: an https URL with a host and no query; without the trailing /.

    Plain http is refused: the bearer token would cross the network in clear.
    """
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"{what}: not an https URL with a host and no query: {url!r}",
            hint="for example https://127.0.0.1:8443 or https://management.usgovcloudapi.net",
        )
    return url.strip().rstrip("/")


def where(url: str) -> str:
    """Host and path of a URL, for messages (no query string)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def retry_after_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The server's requested wait, in seconds, or None when it asked for none."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000.0)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_s(attempt: int, policy: RetryPolicy, server_wait: float | None) -> float:
    """Wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
    if server_wait is not None:
        return min(server_wait, policy.max_delay_s)
    step = min(policy.max_delay_s, policy.base_delay_s * 2.0 ** (attempt - 1))
    return step * (0.5 + random.random() / 2)


def error_of(resp: requests.Response) -> tuple[str, str]:
    """(code, message) from the error bodies Google, ARM and Graph send."""
    code, message = resp.reason or "error", ""
    try:
        data = resp.json()
    except ValueError:
        return code, one_line(resp.text[:MAX_MESSAGE]) if resp.text else ""
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            code = str(err.get("status") or err.get("code") or code)
            message = str(err.get("message") or "")
        elif isinstance(err, str):  # OAuth-style {"error": ..., "error_description": ...}
            code, message = err, str(data.get("error_description") or "")
    return code, one_line(message)


class RestClient:
    """JSON calls through sessions made by ``session_factory``, one session per thread."""

    def __init__(
        self,
        session_factory: Callable[[], requests.Session],
        policy: RetryPolicy | None = None,
    ) -> None:
        self._factory = session_factory
        self._local = threading.local()
        self.policy = policy or RetryPolicy()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._factory()
            self._local.session = session
        return session

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One call, retried as the policy says; the decoded JSON answer ({} when empty)."""
        import requests

        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            try:
                resp = self._session().request(
                    method,
                    url,
                    params=params,
                    json=body,
                    timeout=(policy.connect_timeout_s, policy.read_timeout_s),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                if attempt == policy.max_attempts:
                    raise ApiError(0, type(exc).__name__, one_line(str(exc)), where(url)) from None
                wait = backoff_s(attempt, policy, None)
                LOG.info("retrying %s %s after %s in %.1fs", method, where(url), type(exc), wait)
                time.sleep(wait)
                continue
            if resp.status_code in RETRY_STATUSES and attempt < policy.max_attempts:
                wait = backoff_s(attempt, policy, retry_after_s(resp.headers))
                LOG.info(
                    "retrying %s %s after HTTP %d in %.1fs",
                    method,
                    where(url),
                    resp.status_code,
                    wait,
                )
                resp.close()
                time.sleep(wait)
                continue
            if resp.status_code >= 300:
                code, message = error_of(resp)
                raise ApiError(resp.status_code, code, message, where(url))
            if not resp.content:
                return {}
            try:
                return resp.json()
            except ValueError:
                raise ApiError(
                    resp.status_code, "InvalidJSON", "the answer is not JSON", where(url)
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _page(
        self, url: str, params: Mapping[str, Any] | None, items_key: str, shown: str
    ) -> tuple[dict[str, Any], list[Any]]:
        """One page of a list and its ``items_key`` items; errors name ``shown`` (the list)."""
        page = self.call("GET", url, params=params)
        if not isinstance(page, dict):
            raise ApiError(200, "InvalidAnswer", "expected a JSON object", where(shown))
        found = page.get(items_key, [])
        if not isinstance(found, list):
            raise ApiError(200, "InvalidAnswer", f"{items_key} is not a list", where(shown))
        return page, found

    def pages_by_token(
        self,
        url: str,
        items_key: str,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Every item of a Google list method (``nextPageToken`` -> ``pageToken``)."""
        items: list[Any] = []
        query = dict(params or {})
        seen: set[str] = set()
        while True:
            page, found = self._page(url, query, items_key, url)
            items.extend(found)
            token = page.get("nextPageToken")
            if not token:
                return items
            if token in seen:  # a server repeating a token would page forever
                raise ApiError(200, "InvalidAnswer", "nextPageToken repeats", where(url))
            seen.add(str(token))
            query["pageToken"] = token

    def pages_by_link(
        self,
        url: str,
        *,
        items_key: str = "value",
        link_key: str = "nextLink",
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Every item of an ARM / Graph list (absolute next links, same origin only)."""
        items: list[Any] = []
        home = origin(url)
        next_url: str | None = url
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while next_url:
            page, found = self._page(next_url, query, items_key, url)
            items.extend(found)
            link = page.get(link_key)
            if not link:
                return items
            link = str(link)
            if origin(link) != home:
                raise ApiError(
                    200,
                    "InvalidAnswer",
                    f"{link_key} points at another host ({origin(link)}); not followed",
                    where(url),
                )
            if link in seen:
                raise ApiError(200, "InvalidAnswer", f"{link_key} repeats", where(url))
            seen.add(link)
            next_url, query = link, None  # the link carries its own query (skip tokens)
        return items
