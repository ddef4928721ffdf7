"""Checks on what callers pass in: task ids, subjects, scopes, reasons, selectors.

Everything here ends up in tokens, audit events and terminal output: keep it plain, and
never echo a pasted token or key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nhictl.core.errors import InputError
from nhictl.core.redact import looks_like_secret, reject_secret
from nhictl.core.registry import check_agent_name
from nhictl.core.revocation import MAX_REASON

if TYPE_CHECKING:
    pass
    pass


# Task ids and subjects end up in tokens, audit events and terminal output: keep them plain.
TASK_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=#-]{0,199}", re.ASCII)
SUBJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}", re.ASCII)
REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=#-]{0,255}", re.ASCII)
SCOPE_RE = re.compile(r"[!#-\[\]-~]{1,256}", re.ASCII)  # RFC 6749 scope-token characters
_SELECTORS = ("jti", "agent", "task")
EXPECTED = {
    "jti": "pass the credential's jti (`nhictl credentials list` shows them; "
    "`nhictl verify - -f json < FILE` shows a token's jti)",
    "agent": "pass the agent's name (`nhictl agents list` shows them)",
    "task": "pass the task id (`nhictl credentials list` shows them)",
}
_WHAT = {"jti": "jti", "agent": "agent name", "task": "task id"}


def check_text(value: str, pattern: re.Pattern[str], what: str) -> str:
    reject_secret(value, what, expected=f"pass the {what} itself")
    if not pattern.fullmatch(value):
        shown = value[:40]
        raise InputError(
            f"invalid {what} {shown!r}: it must start with a letter or digit, be short, and "
            "hold no spaces or unusual characters"
        )
    return value


def check_reason(reason: str) -> str:
    text = " ".join(str(reason).split())
    if not text:
        raise InputError("--reason must say why")
    if looks_like_secret(text):
        raise InputError("--reason must not contain a token or key (it is not shown)")
    return text[:MAX_REASON]


def check_selector(selector: str, value: str) -> str:
    """A jti, agent name or task id to look up: never a pasted token (refused unshown)."""
    if selector == "agent":
        return check_agent_name(value)
    reject_secret(value, _WHAT[selector], expected=EXPECTED[selector])
    return value
