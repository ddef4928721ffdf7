"""Policy-as-code on Cedar: registration, issuance and per-action authorization decisions.

cedarpy is imported lazily inside the functions that need it, so importing this package (for
its types or context builders) costs nothing at CLI start-up.
"""

from nhictl.core.policy.engine import ACTIONS, Decision, PolicyEngine, RegistrationDecision
from nhictl.core.policy.files import (
    Problem,
    default_policy_dir,
    schema_text,
    validate_policy_files,
)
from nhictl.core.policy.model import (
    SENSITIVITY_RANKS,
    AgentEntity,
    agent_from_manifest,
    authorize_context,
    is_write,
    issue_context,
    sensitivity_rank,
    time_context,
)

__all__ = [
    "ACTIONS",
    "SENSITIVITY_RANKS",
    "AgentEntity",
    "Decision",
    "PolicyEngine",
    "Problem",
    "RegistrationDecision",
    "agent_from_manifest",
    "authorize_context",
    "default_policy_dir",
    "is_write",
    "issue_context",
    "schema_text",
    "sensitivity_rank",
    "time_context",
    "validate_policy_files",
]
