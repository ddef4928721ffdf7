"""Regenerate sample-configs/aws/ (a small, realistic account export) deterministically.

The files it writes are committed; this script documents how they were made and keeps them
consistent. Dates are relative to 2026-11-28, the ``--now`` the demo and tests pin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ACCT = "111122223333"
OUT = Path(__file__).resolve().parents[1] / "sample-configs/aws"


GITHUB_OIDC = "token.actions.githubusercontent.com"


def arn(kind: str, path_name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{path_name}"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def trust(principal: Any, action: str = "sts:AssumeRole", cond: Any = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if cond:
        st["Condition"] = cond
    return doc(st)


LAMBDA = trust({"Service": "lambda.amazonaws.com"})
ECS = trust({"Service": "ecs-tasks.amazonaws.com"})
EKS_AGENT = trust({"Service": "pods.eks.amazonaws.com"}, "sts:AssumeRole")


def role(
    name: str,
    path: str,
    trust_doc: Any,
    created: str,
    last_used: str | None,
    inline: dict[str, Any] | None = None,
    managed: list[str] | None = None,
    boundary: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "Path": path,
        "RoleName": name,
        "RoleId": "AROA" + name.upper().replace("-", "")[:17],
        "Arn": arn("role", path.lstrip("/") + name),
        "CreateDate": created,
        "AssumeRolePolicyDocument": trust_doc,
        "InstanceProfileList": [],
        "RolePolicyList": [
            {"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()
        ],
        "AttachedManagedPolicies": [
            {"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in (managed or [])
        ],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        "RoleLastUsed": {"LastUsedDate": last_used, "Region": "eu-west-1"} if last_used else {},
    }
    if boundary:
        r["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": boundary,
        }
    return r


def managed(
    name: str,
    versions: list[tuple[str, dict[str, Any]]],
    aws: bool = False,
    created: str = "2024-01-10T09:00:00Z",
) -> dict[str, Any]:
    a = f"arn:aws:iam::aws:policy/{name}" if aws else arn("policy", name)
    vl = [
        {
            "Document": d,
            "VersionId": f"v{i + 1}",
            "IsDefaultVersion": i == len(versions) - 1,
            "CreateDate": date,
        }
        for i, (date, d) in enumerate(versions)
    ]
    return {
        "PolicyName": name,
        "PolicyId": "ANPA" + name.upper().replace("-", "")[:17],
        "Arn": a,
        "Path": "/",
        "DefaultVersionId": f"v{len(versions)}",
        "AttachmentCount": 1,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": created,
        "UpdateDate": versions[-1][0],
        "PolicyVersionList": vl,
    }


def build() -> None:
    admin_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    policies = [
        managed("AdministratorAccess", [("2015-02-06T18:39:46Z", doc(allow("*")))], aws=True),
        # Grew across versions: started as read-only report access, now deletes and runs Athena.
        managed(
            "report-builder-access",
            [
                (
                    "2024-02-01T10:00:00Z",
                    doc(
                        allow(
                            ["s3:GetObject", "s3:ListBucket"],
                            ["arn:aws:s3:::reports-prod", "arn:aws:s3:::reports-prod/*"],
                        )
                    ),
                ),
                (
                    "2025-03-12T10:00:00Z",
                    doc(
                        allow(
                            ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                            ["arn:aws:s3:::reports-prod", "arn:aws:s3:::reports-prod/*"],
                        )
                    ),
                ),
                (
                    "2026-06-30T10:00:00Z",
                    doc(
                        allow(
                            ["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"],
                            ["arn:aws:s3:::reports-prod", "arn:aws:s3:::reports-prod/*"],
                        ),
                        allow(["athena:*", "glue:GetTable", "glue:GetDatabase"]),
                    ),
                ),
            ],
        ),
        managed(
            "vendor-monitoring-read",
            [
                (
                    "2024-05-01T10:00:00Z",
                    doc(
                        allow(
                            [
                                "cloudwatch:Get*",
                                "cloudwatch:List*",
                                "cloudwatch:Describe*",
                                "ec2:Describe*",
                                "tag:GetResources",
                            ]
                        )
                    ),
                )
            ],
        ),
        managed("ci-pass-role", [("2025-01-01T10:00:00Z", doc(allow("iam:PassRole")))]),
        managed(
            "ci-lambda-deploy",
            [
                (
                    "2025-01-01T10:00:00Z",
                    doc(
                        allow(
                            [
                                "lambda:CreateFunction",
                                "lambda:UpdateFunctionCode",
                                "lambda:InvokeFunction",
                                "lambda:GetFunction",
                            ]
                        )
                    ),
                )
            ],
        ),
        managed(
            "agent-boundary",
            [
                (
                    "2025-01-01T10:00:00Z",
                    doc(allow(["s3:GetObject", "s3:ListBucket", "bedrock:InvokeModel"])),
                )
            ],
        ),
    ]
    roles = [
        role(
            "invoice-reconciler",
            "/agents/",
            EKS_AGENT,
            "2025-01-15T08:00:00Z",
            "2026-11-27T23:10:00Z",
            inline={
                "invoices": doc(
                    allow(
                        ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                        ["arn:aws:s3:::invoices-prod", "arn:aws:s3:::invoices-prod/*"],
                    )
                )
            },
            tags={"owner": "team-finance-platform"},
        ),
        # The drifted agent: declared read on one table, granted all of DynamoDB and SQS.
        role(
            "support-triage",
            "/agents/",
            EKS_AGENT,
            "2025-04-02T08:00:00Z",
            "2026-11-28T01:00:00Z",
            inline={
                "triage": doc(
                    allow(["dynamodb:*"]),
                    allow(["sqs:*"], "arn:aws:sqs:eu-west-1:111122223333:support-*"),
                    allow(["bedrock:InvokeModel"]),
                )
            },
            tags={"owner": "team-support"},
        ),
        # Sandboxed agent: broad policy, narrow boundary.
        role(
            "research-sandbox",
            "/agents/",
            EKS_AGENT,
            "2025-09-01T08:00:00Z",
            "2026-11-20T10:00:00Z",
            inline={"broad": doc(allow(["s3:*", "iam:*", "bedrock:*"]))},
            boundary=arn("policy", "agent-boundary"),
        ),
        # Agent whose only grant is conditional (VPC endpoint).
        role(
            "vpc-bound-agent",
            "/agents/",
            EKS_AGENT,
            "2025-08-01T08:00:00Z",
            "2026-11-25T10:00:00Z",
            inline={
                "vpce-only": doc(
                    allow(
                        "*",
                        "*",
                        Condition={"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f"}},
                    )
                )
            },
        ),
        role(
            "report-builder",
            "/app/",
            LAMBDA,
            "2024-02-01T10:00:00Z",
            "2026-11-26T04:00:00Z",
            managed=[arn("policy", "report-builder-access")],
        ),
        role(
            "orders-worker",
            "/app/",
            ECS,
            "2024-06-10T10:00:00Z",
            "2026-11-27T12:00:00Z",
            inline={
                "orders": doc(
                    allow(
                        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                        "arn:aws:sqs:eu-west-1:111122223333:orders",
                    ),
                    allow(
                        ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"],
                        "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
                    ),
                    allow(
                        [
                            "xray:PutTraceSegments",
                            "xray:PutTelemetryRecords",
                            "cloudwatch:PutMetricData",
                        ]
                    ),
                    {
                        "Effect": "Deny",
                        "Action": "dynamodb:DeleteTable",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "dba"}},
                    },
                )
            },
        ),
        role(
            "break-glass-admin",
            "/",
            trust(
                {"AWS": f"arn:aws:iam::{ACCT}:root"},
                cond={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            ),
            "2023-01-05T10:00:00Z",
            "2026-01-10T10:00:00Z",
            managed=[admin_arn],
        ),
        role(
            "vendor-monitoring",
            "/vendors/",
            trust({"AWS": "arn:aws:iam::464622532012:root"}),
            "2024-05-01T10:00:00Z",
            "2026-11-28T02:00:00Z",
            managed=[arn("policy", "vendor-monitoring-read")],
        ),
        role(
            "ci-deployer",
            "/ci/",
            trust(
                {"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/{GITHUB_OIDC}"},
                "sts:AssumeRoleWithWebIdentity",
                {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
            ),
            "2025-01-01T10:00:00Z",
            "2026-11-27T16:00:00Z",
            managed=[arn("policy", "ci-pass-role"), arn("policy", "ci-lambda-deploy")],
        ),
        role(
            "AWSServiceRoleForECS",
            "/aws-service-role/ecs.amazonaws.com/",
            trust({"Service": "ecs.amazonaws.com"}),
            "2023-01-01T10:00:00Z",
            "2026-11-28T03:00:00Z",
        ),
        role(
            "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
            "/aws-reserved/sso.amazonaws.com/eu-west-1/",
            trust(
                {"Federated": f"arn:aws:iam::{ACCT}:saml-provider/AWSSSO_abc_DO_NOT_DELETE"},
                "sts:AssumeRoleWithSAML",
            ),
            "2023-01-01T10:00:00Z",
            "2026-11-27T09:00:00Z",
            managed=[admin_arn],
        ),
    ]
    groups = [
        {
            "Path": "/",
            "GroupName": "data-engineers",
            "GroupId": "AGPADATAENGINEERS01",
            "Arn": arn("group", "data-engineers"),
            "CreateDate": "2023-03-01T10:00:00Z",
            "GroupPolicyList": [
                {
                    "PolicyName": "data-lake",
                    "PolicyDocument": doc(
                        allow(
                            ["s3:*"],
                            ["arn:aws:s3:::data-lake-prod", "arn:aws:s3:::data-lake-prod/*"],
                        ),
                        allow(["glue:*", "athena:StartQueryExecution", "athena:GetQueryResults"]),
                    ),
                }
            ],
            "AttachedManagedPolicies": [],
        }
    ]
    users = [
        {
            "Path": "/service/",
            "UserName": "legacy-etl",
            "UserId": "AIDALEGACYETL0001",
            "Arn": arn("user", "service/legacy-etl"),
            "CreateDate": "2022-11-01T10:00:00Z",
            "UserPolicyList": [],
            "GroupList": ["data-engineers"],
            "AttachedManagedPolicies": [],
            "Tags": [{"Key": "owner", "Value": "team-data"}],
        },
        {
            "Path": "/service/",
            "UserName": "metrics-pusher",
            "UserId": "AIDAMETRICSPUSHER1",
            "Arn": arn("user", "service/metrics-pusher"),
            "CreateDate": "2025-02-01T10:00:00Z",
            "UserPolicyList": [
                {
                    "PolicyName": "metrics",
                    "PolicyDocument": doc(allow(["cloudwatch:PutMetricData"])),
                }
            ],
            "GroupList": [],
            "AttachedManagedPolicies": [],
        },
    ]
    export = {
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": policies,
        "IsTruncated": False,
    }
    (OUT / "authorization-details.json").write_text(json.dumps(export, indent=2) + "\n")

    def svc(ns: str, last: str | None, actions: dict[str, str | None] | None = None) -> Any:
        row: dict[str, Any] = {
            "ServiceName": ns,
            "ServiceNamespace": ns,
            "TotalAuthenticatedEntities": 1 if last else 0,
        }
        if last:
            row["LastAuthenticated"] = last
            row["LastAuthenticatedEntity"] = "self"
            row["LastAuthenticatedRegion"] = "eu-west-1"
        if actions is not None:
            row["TrackedActionsLastAccessed"] = [
                {
                    "ActionName": a,
                    **(
                        {
                            "LastAccessedTime": t,
                            "LastAccessedEntity": "self",
                            "LastAccessedRegion": "eu-west-1",
                        }
                        if t
                        else {}
                    ),
                }
                for a, t in actions.items()
            ]
        return row

    def resp(*rows: Any) -> dict[str, Any]:
        return {
            "JobStatus": "COMPLETED",
            "JobType": "ACTION_LEVEL",
            "JobCreationDate": "2026-11-28T05:00:00Z",
            "JobCompletionDate": "2026-11-28T05:00:09Z",
            "ServicesLastAccessed": list(rows),
            "IsTruncated": False,
        }

    recent = "2026-11-27T10:00:00Z"
    la = {
        arn("role", "agents/invoice-reconciler"): resp(
            svc("s3", recent, {"GetObject": recent, "ListBucket": recent, "PutObject": recent})
        ),
        arn("role", "agents/support-triage"): resp(
            svc(
                "dynamodb",
                recent,
                {"GetItem": recent, "Query": recent, "PutItem": None, "DeleteTable": None},
            ),
            svc("sqs", "2026-11-20T10:00:00Z"),
            svc("bedrock", recent),
        ),
        arn("role", "agents/research-sandbox"): resp(
            svc("s3", recent, {"GetObject": recent, "ListBucket": recent}),
            svc("bedrock", "2026-11-20T10:00:00Z"),
        ),
        arn("role", "agents/vpc-bound-agent"): resp(svc("bedrock", recent), svc("s3", recent)),
        arn("role", "app/report-builder"): resp(
            svc(
                "s3",
                recent,
                {
                    "GetObject": recent,
                    "PutObject": recent,
                    "ListBucket": recent,
                    "DeleteObject": None,
                },
            ),
            svc("athena", None),
            svc("glue", None),
        ),
        arn("role", "app/orders-worker"): resp(
            svc("sqs", recent),
            svc(
                "dynamodb",
                "2026-03-01T10:00:00Z",
                {"PutItem": "2026-03-01T10:00:00Z", "UpdateItem": None, "GetItem": None},
            ),
            svc("xray", recent),
            svc("cloudwatch", recent),
        ),
        arn("role", "break-glass-admin"): resp(
            svc("iam", "2026-01-10T10:00:00Z"), svc("s3", "2026-01-10T10:00:00Z")
        ),
        arn("role", "vendors/vendor-monitoring"): resp(
            svc("cloudwatch", recent), svc("ec2", recent), svc("tag", None)
        ),
        arn("role", "ci/ci-deployer"): resp(
            svc(
                "lambda",
                recent,
                {
                    "UpdateFunctionCode": recent,
                    "GetFunction": recent,
                    "CreateFunction": None,
                    "InvokeFunction": None,
                },
            ),
            svc("iam", recent),
        ),
        arn("user", "service/legacy-etl"): resp(
            svc("s3", "2025-12-01T10:00:00Z"), svc("glue", None), svc("athena", None)
        ),
        arn("user", "service/metrics-pusher"): resp(svc("cloudwatch", recent)),
    }
    (OUT / "last-accessed.json").write_text(json.dumps(la, indent=2) + "\n")

    keys = {
        "AccessKeyMetadata": [
            {
                "UserName": "legacy-etl",
                "AccessKeyId": "AKIAEXAMPLELEGACY001",
                "Status": "Active",
                "CreateDate": "2023-02-14T10:00:00Z",
                "AccessKeyLastUsed": {
                    "LastUsedDate": "2025-12-01T10:00:00Z",
                    "ServiceName": "s3",
                    "Region": "eu-west-1",
                },
            },
            {
                "UserName": "legacy-etl",
                "AccessKeyId": "AKIAEXAMPLELEGACY002",
                "Status": "Inactive",
                "CreateDate": "2022-11-01T10:00:00Z",
                "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"},
            },
            {
                "UserName": "metrics-pusher",
                "AccessKeyId": "AKIAEXAMPLEMETRICS01",
                "Status": "Active",
                "CreateDate": "2026-10-01T10:00:00Z",
                "AccessKeyLastUsed": {
                    "LastUsedDate": "2026-11-27T10:00:00Z",
                    "ServiceName": "monitoring",
                    "Region": "eu-west-1",
                },
            },
        ]
    }
    (OUT / "access-keys.json").write_text(json.dumps(keys, indent=2) + "\n")


if __name__ == "__main__":
    build()
