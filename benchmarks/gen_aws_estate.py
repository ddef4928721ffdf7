"""Generate a large AWS estate in the exact AWS CLI shapes, for benchmarks.

Writes into OUT_DIR:
- ``authorization-details.json``: ``aws iam get-account-authorization-details`` output with N roles,
  N/10 users, N/200 groups (at least 5) and ~N/4 customer policies (several with version
  history), plus the AWS-managed policies they attach;
- ``last-accessed.json``: principal ARN -> ``GetServiceLastAccessedDetails`` (ACTION_LEVEL);
- ``access-keys.json``: ``ListAccessKeys`` + ``GetAccessKeyLastUsed`` merged;
- ``manifests/``: one AgentRegistration YAML per agent role (half the roles).

Two policy profiles (``--profile``):

- ``typical`` (default): each statement lists a few concrete actions of 15 common services
  (``--wildcard-share`` of them grant the whole service), 60 % scoped to resource ARNs;
- ``broad``: each statement grants 3-4 whole services (``ec2:*``, ``iam:*``, ...) of 18
  large ones on Resource ``*``, the over-broad shape creep audits exist for. It matches the
  synthetic estate the project research measured cloudsplaining on: the same principal
  counts and export size (2.1 MB at 1,000 roles; 255 policies against its 270), and
  cloudsplaining's time, peak memory and output size on it (73 s / 697 MB / 2x49 MB at 1,000
  roles; see docs/audit-creep.md).

Deterministic for a given N, seed and profile.
Usage: ``python benchmarks/gen_aws_estate.py 5000 OUT_DIR [--profile broad]``.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ACCT = "123456789012"
NOW_DAYS = [f"2026-11-2{d}" for d in range(1, 8)]
OLD_DAYS = [f"2025-0{m}-15" for m in range(1, 10)]

SERVICES = {
    "s3": ["GetObject", "PutObject", "ListBucket", "DeleteObject", "GetBucketLocation"],
    "dynamodb": ["GetItem", "PutItem", "Query", "UpdateItem", "DeleteItem", "Scan"],
    "sqs": ["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes"],
    "sns": ["Publish", "Subscribe"],
    "lambda": ["InvokeFunction", "GetFunction", "UpdateFunctionCode", "CreateFunction"],
    "ec2": ["DescribeInstances", "RunInstances", "StartInstances", "StopInstances"],
    "kms": ["Decrypt", "Encrypt", "GenerateDataKey"],
    "secretsmanager": ["GetSecretValue", "DescribeSecret"],
    "logs": ["CreateLogStream", "PutLogEvents", "CreateLogGroup"],
    "cloudwatch": ["PutMetricData", "GetMetricData"],
    "bedrock": ["InvokeModel", "InvokeModelWithResponseStream"],
    "athena": ["StartQueryExecution", "GetQueryResults"],
    "glue": ["GetTable", "GetDatabase", "CreateTable"],
    "states": ["StartExecution", "DescribeExecution"],
    "xray": ["PutTraceSegments", "PutTelemetryRecords"],
}
ACTION_LEVEL = {"s3", "ec2", "iam", "lambda", "dynamodb"}
# The broad profile's services: the largest and most used ones (ec2 alone has ~780 actions).
BROAD_SERVICES = [
    "ec2", "iam", "s3", "rds", "glue", "sagemaker", "ssm", "lambda", "dynamodb",
    "cloudformation", "bedrock", "logs", "sqs", "sns", "kms", "secretsmanager", "ecs", "eks",
]  # fmt: skip
PROFILES = ("typical", "broad")


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def ts(day: str) -> str:
    return f"{day}T10:00:00Z"


class Estate:
    def __init__(
        self, n: int, seed: int, wildcard_share: float = 0.12, profile: str = "typical"
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}")
        self.wildcard_share = wildcard_share
        self.broad = profile == "broad"
        self.n = n
        self.rng = random.Random(seed)
        # Trust, AssumeRole/PassRole grants and Lambda functions for the principal graph: a
        # separate stream, so the rest of the estate is what it was before they were added.
        self.graph_rng = random.Random(seed + 1)

    def statement(self, svc: str, scoped: bool, name: str) -> dict[str, Any]:
        r = self.rng
        acts = SERVICES[svc]
        k = r.randint(1, len(acts))
        if r.random() < self.wildcard_share:
            action: Any = f"{svc}:*"
        else:
            action = sorted(f"{svc}:{a}" for a in r.sample(acts, k))
        resource: Any = "*"
        if scoped and svc in ("s3", "dynamodb", "sqs", "sns", "lambda", "kms", "secretsmanager"):
            resource = {
                "s3": [f"arn:aws:s3:::{name}-data", f"arn:aws:s3:::{name}-data/*"],
                "dynamodb": f"arn:aws:dynamodb:eu-west-1:{ACCT}:table/{name}",
                "sqs": f"arn:aws:sqs:eu-west-1:{ACCT}:{name}",
                "sns": f"arn:aws:sns:eu-west-1:{ACCT}:{name}",
                "lambda": f"arn:aws:lambda:eu-west-1:{ACCT}:function:{name}",
                "kms": f"arn:aws:kms:eu-west-1:{ACCT}:key/{name}",
                "secretsmanager": f"arn:aws:secretsmanager:eu-west-1:{ACCT}:secret:{name}-*",
            }[svc]
        st: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
        if r.random() < 0.05:
            st["Condition"] = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
        return st

    def broad_statement(self) -> dict[str, Any]:
        r = self.rng
        svcs = r.sample(BROAD_SERVICES, r.randint(3, 4))
        st: dict[str, Any] = {
            "Effect": "Allow",
            "Action": sorted(f"{s}:*" for s in svcs),
            "Resource": "*",
        }
        if r.random() < 0.05:
            st["Condition"] = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
        return st

    def policy_doc(self, name: str, n_stmts: int) -> dict[str, Any]:
        if self.broad:
            stmts = [self.broad_statement() for _ in range(n_stmts)]
        else:
            svcs = self.rng.sample(sorted(SERVICES), n_stmts)
            stmts = [self.statement(s, self.rng.random() < 0.6, name) for s in svcs]
        if self.rng.random() < 0.1:
            stmts.append({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})
        return doc(*stmts)

    def build(self, out: Path) -> None:
        r = self.rng
        n = self.n
        aws_managed = [
            ("AdministratorAccess", doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
            (
                "ReadOnlyAccess",
                doc(
                    {
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": ["*:Describe*", "*:Get*", "*:List*"],
                    }
                ),
            ),
            (
                "AmazonS3FullAccess",
                doc({"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}),
            ),
            (
                "PowerUserAccess",
                doc(
                    {
                        "Effect": "Allow",
                        "NotAction": ["iam:*", "organizations:*", "account:*"],
                        "Resource": "*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "iam:CreateServiceLinkedRole",
                            "iam:ListRoles",
                            "organizations:DescribeOrganization",
                        ],
                        "Resource": "*",
                    },
                ),
            ),
            (
                "AWSLambdaBasicExecutionRole",
                doc(
                    {
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                        ],
                    }
                ),
            ),
        ]
        policies: list[dict[str, Any]] = []
        for name, d in aws_managed:
            policies.append(self.managed_entry(f"arn:aws:iam::aws:policy/{name}", name, [d]))
        customer = []
        for i in range(max(20, n // 4)):
            name = f"app-policy-{i:05d}"
            versions = [self.policy_doc(name, r.randint(1, 4))]
            if r.random() < 0.2:  # grew across versions
                grown = json.loads(json.dumps(versions[0]))
                grown["Statement"].append(self.statement(r.choice(sorted(SERVICES)), False, name))
                versions.append(grown)
            arn = f"arn:aws:iam::{ACCT}:policy/{name}"
            policies.append(self.managed_entry(arn, name, versions))
            customer.append(arn)

        def attachments() -> list[dict[str, str]]:
            picks = r.sample(customer, r.randint(1, 3))
            if r.random() < 0.3:
                picks.append("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole")
            if r.random() < 0.01:
                picks.append("arn:aws:iam::aws:policy/AdministratorAccess")
            if r.random() < 0.03:
                picks.append("arn:aws:iam::aws:policy/ReadOnlyAccess")
            if r.random() < 0.01:
                picks.append("arn:aws:iam::aws:policy/PowerUserAccess")
            return [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in picks]

        roles: list[dict[str, Any]] = []
        manifests_dir = out / "manifests"
        manifests_dir.mkdir(parents=True, exist_ok=True)
        last_accessed: dict[str, Any] = {}
        for i in range(n):
            agent = i % 2 == 0
            name = f"{'agent' if agent else 'svc'}-{i:06d}"
            path = "/agents/" if agent else "/app/"
            arn = f"arn:aws:iam::{ACCT}:role{path}{name}"
            inline = []
            if r.random() < 0.8:
                inline.append(
                    {
                        "PolicyName": f"{name}-inline",
                        "PolicyDocument": self.policy_doc(name, r.randint(1, 3)),
                    }
                )
            trust_principal: Any = {
                "Service": r.choice(["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"])
            }
            if r.random() < 0.02:
                trust_principal = {"AWS": "arn:aws:iam::999988887777:root"}
            g = self.graph_rng.random()
            if g < 0.10:  # any principal of the account holding sts:AssumeRole on it
                trust_principal = {"AWS": f"arn:aws:iam::{ACCT}:root"}
            elif g < 0.15 and i:  # one named role of the account (a hop of a chain)
                prev = roles[self.graph_rng.randrange(len(roles))]["Arn"]
                trust_principal = {"AWS": prev}
            trust_st: dict[str, Any] = {
                "Effect": "Allow",
                "Principal": trust_principal,
                "Action": "sts:AssumeRole",
            }
            g = self.graph_rng.random()
            if g < 0.10:  # assume any role: the n^2 the graph must not materialise
                inline.append(
                    {"PolicyName": f"{name}-assume", "PolicyDocument": doc(
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})}
                )  # fmt: skip
            elif g < 0.15:  # deploys Lambda functions with a role it passes
                inline.append(
                    {"PolicyName": f"{name}-deploy", "PolicyDocument": doc(
                        {"Effect": "Allow", "Resource": "*", "Action": [
                            "iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction",
                            "lambda:UpdateFunctionCode"]})}
                )  # fmt: skip
            role: dict[str, Any] = {
                "Path": path,
                "RoleName": name,
                "RoleId": f"AROA{i:017d}",
                "Arn": arn,
                "CreateDate": ts(r.choice(OLD_DAYS)),
                "AssumeRolePolicyDocument": doc(trust_st),
                "InstanceProfileList": [],
                "RolePolicyList": inline,
                "AttachedManagedPolicies": attachments(),
                "Tags": [],
                "RoleLastUsed": {
                    "LastUsedDate": ts(r.choice(NOW_DAYS + OLD_DAYS)),
                    "Region": "eu-west-1",
                },
            }
            if r.random() < 0.05:
                role["PermissionsBoundary"] = {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/PowerUserAccess",
                }
            roles.append(role)
            last_accessed[arn] = self.last_accessed(role, inline)
            if agent:
                self.manifest(manifests_dir, name, arn, inline)
        groups = [
            {
                "Path": "/",
                "GroupName": f"group-{g:04d}",
                "GroupId": f"AGPA{g:017d}",
                "Arn": f"arn:aws:iam::{ACCT}:group/group-{g:04d}",
                "CreateDate": ts(OLD_DAYS[0]),
                "GroupPolicyList": [
                    {"PolicyName": "team", "PolicyDocument": self.policy_doc(f"group-{g}", 2)}
                ],
                "AttachedManagedPolicies": [{"PolicyName": "x", "PolicyArn": r.choice(customer)}],
            }
            for g in range(max(5, n // 200))
        ]
        users = []
        keys = []
        for u in range(max(10, n // 10)):
            name = f"svc-user-{u:05d}"
            arn = f"arn:aws:iam::{ACCT}:user/{name}"
            users.append(
                {
                    "Path": "/",
                    "UserName": name,
                    "UserId": f"AIDA{u:017d}",
                    "Arn": arn,
                    "CreateDate": ts(OLD_DAYS[1]),
                    "GroupList": [r.choice(groups)["GroupName"]],
                    "UserPolicyList": [],
                    "AttachedManagedPolicies": attachments()[:1],
                    "Tags": [],
                }
            )
            keys.append(
                {
                    "UserName": name,
                    "AccessKeyId": f"AKIA{u:016d}",
                    "Status": "Active",
                    "CreateDate": ts(r.choice(OLD_DAYS)),
                    "AccessKeyLastUsed": {
                        "LastUsedDate": ts(r.choice(NOW_DAYS + OLD_DAYS)),
                        "ServiceName": "s3",
                        "Region": "eu-west-1",
                    },
                }
            )
            last_accessed[arn] = {
                "JobStatus": "COMPLETED",
                "JobType": "SERVICE_LEVEL",
                "ServicesLastAccessed": [
                    {
                        "ServiceName": "s3",
                        "ServiceNamespace": "s3",
                        "LastAuthenticated": ts(r.choice(NOW_DAYS + OLD_DAYS)),
                    }
                ],
            }
        export = {
            "UserDetailList": users,
            "GroupDetailList": groups,
            "RoleDetailList": roles,
            "Policies": policies,
            "IsTruncated": False,
        }
        (out / "authorization-details.json").write_text(json.dumps(export, indent=2))
        # `aws lambda list-functions`: one function per 10 roles, each running as some role.
        functions = [
            {
                "FunctionName": f"fn-{f:05d}",
                "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCT}:function:fn-{f:05d}",
                "Role": roles[self.graph_rng.randrange(len(roles))]["Arn"],
            }
            for f in range(max(1, n // 10))
        ]
        (out / "lambda-functions.json").write_text(json.dumps({"Functions": functions}))
        (out / "last-accessed.json").write_text(json.dumps(last_accessed))
        (out / "access-keys.json").write_text(json.dumps({"AccessKeyMetadata": keys}))

    def managed_entry(self, arn: str, name: str, versions: list[Any]) -> dict[str, Any]:
        vl = [
            {
                "Document": d,
                "VersionId": f"v{i + 1}",
                "IsDefaultVersion": i == len(versions) - 1,
                "CreateDate": ts(OLD_DAYS[i]),
            }
            for i, d in enumerate(versions)
        ]
        return {
            "PolicyName": name,
            "PolicyId": "ANPA" + name.upper()[:17],
            "Arn": arn,
            "Path": "/",
            "DefaultVersionId": f"v{len(versions)}",
            "AttachmentCount": 1,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": ts(OLD_DAYS[0]),
            "UpdateDate": ts(OLD_DAYS[0]),
            "PolicyVersionList": vl,
        }

    def last_accessed(self, role: dict[str, Any], inline: list[Any]) -> dict[str, Any]:
        r = self.rng
        svcs: set[str] = set()
        for pol in inline:
            for st in pol["PolicyDocument"]["Statement"]:
                act = st.get("Action", "x:y")
                for a in [act] if isinstance(act, str) else act:
                    svcs.add(a.split(":")[0])
        svcs |= set(r.sample(sorted(SERVICES), 2))
        rows = []
        for s in sorted(svcs):
            used = r.random() < 0.6
            row: dict[str, Any] = {
                "ServiceName": s,
                "ServiceNamespace": s,
                "TotalAuthenticatedEntities": int(used),
            }
            if used:
                row["LastAuthenticated"] = ts(r.choice(NOW_DAYS))
            if s in ACTION_LEVEL and s in SERVICES:
                row["TrackedActionsLastAccessed"] = [
                    {
                        "ActionName": a,
                        **(
                            {"LastAccessedTime": ts(r.choice(NOW_DAYS))}
                            if used and r.random() < 0.5
                            else {}
                        ),
                    }
                    for a in SERVICES[s]
                ]
            rows.append(row)
        return {
            "JobStatus": "COMPLETED",
            "JobType": "ACTION_LEVEL",
            "ServicesLastAccessed": rows,
            "IsTruncated": False,
        }

    def manifest(self, d: Path, name: str, arn: str, inline: list[Any]) -> None:
        actions: set[str] = set()
        for pol in inline:
            for st in pol["PolicyDocument"]["Statement"]:
                act = st.get("Action", [])
                for a in [act] if isinstance(act, str) else act:
                    if self.broad and a.endswith(":*"):
                        # Declared: reading the service; granted: all of it.
                        actions.add(a[:-1] + "Get*")
                    elif not a.endswith("*") and self.rng.random() < 0.8:
                        actions.add(a)
        acts = ", ".join(sorted(actions)) or "s3:GetObject"
        (d / f"{name}.yaml").write_text(
            "apiVersion: nhictl.dev/v1\nkind: AgentRegistration\nmetadata:\n"
            f"  name: {name}\n  owner: team-bench\n  sponsor: bench@example.com\nspec:\n"
            "  description: Generated agent.\n  workloadIdentity:\n    type: spiffe\n"
            f"    spiffeId: spiffe://bench.example.com/ns/bench/sa/{name}\n    audience: nhictl\n"
            "  environments: [prod]\n  dataSensitivity: internal\n  tools: [s3]\n"
            "  intents:\n    - name: work\n      description: Does its job.\n"
            "      scopes: [data:read]\n  credentials: {defaultTtl: 10m, maxTtl: 15m}\n"
            f"  entitlements:\n    aws:\n      roleArn: {arn}\n      actions: [{acts}]\n"
            "      resources: ['*']\n  review: {expires: 2027-06-30}\n"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roles", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--wildcard-share",
        type=float,
        default=0.12,
        help="typical profile: share of statements granting a whole service (svc:*)",
    )
    ap.add_argument(
        "--profile",
        choices=PROFILES,
        default="typical",
        help="typical: concrete actions, often scoped; broad: whole services on '*'",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    Estate(args.roles, args.seed, args.wildcard_share, args.profile).build(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
