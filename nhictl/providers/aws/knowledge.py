"""AWS knowledge for the creep engine: catalog, escalation methods, IAM-admin patterns."""

from __future__ import annotations

from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.providers.aws.catalog import load_catalog
from nhictl.providers.aws.escalation import methods


def aws_knowledge() -> ProviderKnowledge:
    """A fresh knowledge object (the catalog grows with unknown actions during a run)."""
    return ProviderKnowledge(
        provider="aws",
        catalog=load_catalog(),
        escalation=methods(),
        iam_admin=("iam:*",),
        assume_permission="sts:AssumeRole",
        pass_permission="iam:PassRole",
        passed_to_key="iam:PassedToService",
        service_principal=service_principal,
        short_name=short_name,
    )


# Services whose resources run under a service principal not named "<namespace>.amazonaws.com".
_SERVICE_PRINCIPALS = {
    "ecs": "ecs-tasks.amazonaws.com",
    "apprunner": "tasks.apprunner.amazonaws.com",
    "bedrock-agentcore": "bedrock-agentcore.amazonaws.com",
    "elasticmapreduce": "elasticmapreduce.amazonaws.com",
}


def service_principal(namespace: str) -> str:
    """The service principal a role is passed to for a service namespace."""
    return _SERVICE_PRINCIPALS.get(namespace, f"{namespace}.amazonaws.com")


def short_name(arn: str) -> str:
    """``arn:aws:iam::1:role/ci/x`` -> ``role/ci/x`` (the resource part of an ARN)."""
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 and parts[5] else arn
