"""The agent registry: registration as a policy-mediated issuance event.

* ``records``: agent states, stored rows, and the lookups (``find_agent``, ``require_agent``)
  that take the caller's transaction; the credential service reads agents through these.
* ``service``: ``Registry``, the operations (register, approve, disable, enable, ...).

The registry never imports the credential service: ``disable`` revokes an agent's credentials
through ``nhictl.core.revocation``, the layer both build on.
"""

from __future__ import annotations

from nhictl.core.registry.records import (
    ACTIVE,
    AGENT_COLUMNS,
    DENIED,
    DISABLED,
    EXPIRED,
    PENDING,
    REVISION_COLUMNS,
    UNCHANGED,
    AgentRecord,
    RegistrationResult,
    RegistryError,
    Revision,
    agent_from_row,
    agent_names,
    agent_status,
    agents_for_subject,
    check_agent_name,
    find_agent,
    find_revision,
    identity_record,
    manifest_sha256,
    require_agent,
    revision_from_row,
    unknown_agent,
)
from nhictl.core.registry.service import Registry

__all__ = [
    "ACTIVE",
    "AGENT_COLUMNS",
    "DENIED",
    "DISABLED",
    "EXPIRED",
    "PENDING",
    "REVISION_COLUMNS",
    "UNCHANGED",
    "AgentRecord",
    "RegistrationResult",
    "Registry",
    "RegistryError",
    "Revision",
    "agent_from_row",
    "agent_names",
    "agent_status",
    "agents_for_subject",
    "check_agent_name",
    "find_agent",
    "find_revision",
    "identity_record",
    "manifest_sha256",
    "require_agent",
    "revision_from_row",
    "unknown_agent",
]
