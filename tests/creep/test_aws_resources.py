"""Resource listings (Lambda, CodeBuild, CloudFormation, App Runner, EC2, Glue, SageMaker) ->
``Snapshot.resources`` / ``Snapshot.inventory``, from files in the CLI's own shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.errors import InputError
from nhictl.creep.model import Resource
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.resources import RESOURCE_FILES
from nhictl.providers.aws.snapshot import BUNDLE_FORMAT
from tests.conftest import CliRunner

from .conftest import ACCT, allow, arn, doc, export, role

REGION = "eu-west-1"
BUILD = arn("role", "build")
DEPLOY = arn("role", "deploy")
FN = f"arn:aws:lambda:{REGION}:{ACCT}:function:"


def _profiled(name: str, profile: str) -> dict[str, Any]:
    r = role(name, doc(allow("s3:*")))
    r["InstanceProfileList"] = [
        {
            "InstanceProfileName": profile,
            "Arn": f"arn:aws:iam::{ACCT}:instance-profile/{profile}",
            "Roles": [{"Arn": r["Arn"]}],
        }
    ]
    return r


def _export() -> dict[str, Any]:
    return export(
        roles=[
            role("build", doc(allow("*"))),
            role("deploy", doc(allow("cloudformation:*"))),
            _profiled("web", "web-profile"),
        ]
    )


# Every kind, in the AWS CLI's shapes, with known answers (and the cases that give no edge).
LISTINGS: dict[str, Any] = {
    "lambda-functions": [  # two pages, as `--page-size` writes them
        {"Functions": [{"FunctionArn": FN + "etl", "FunctionName": "etl", "Role": BUILD}]},
        {"Functions": [{"FunctionArn": FN + "api", "FunctionName": "api", "Role": DEPLOY}]},
    ],
    "codebuild-projects": {
        "projects": [
            {
                "arn": f"arn:aws:codebuild:{REGION}:{ACCT}:project/ci",
                "name": "ci",
                "serviceRole": BUILD,
            }
        ],
        "projectsNotFound": [],
    },
    "cloudformation-stacks": {
        "Stacks": [
            {
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/app/1",
                "StackName": "app",
                "RoleARN": DEPLOY,
            },
            {  # no service role: runs as whoever updates it
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/plain/2",
                "StackName": "plain",
            },
        ]
    },
    "apprunner-services": {
        "Services": [
            {
                "ServiceArn": f"arn:aws:apprunner:{REGION}:{ACCT}:service/web/abc",
                "ServiceName": "web",
                "InstanceConfiguration": {"Cpu": "1024", "InstanceRoleArn": BUILD},
            },
            {
                "ServiceArn": f"arn:aws:apprunner:{REGION}:{ACCT}:service/bare/def",
                "ServiceName": "bare",
                "InstanceConfiguration": {"Cpu": "1024"},
            },
        ]
    },
    "ec2-instances": {
        "Reservations": [
            {
                "OwnerId": ACCT,
                "Instances": [
                    {
                        "InstanceId": "i-0abc",
                        "Placement": {"AvailabilityZone": "us-west-2-lax-1a"},
                        "IamInstanceProfile": {
                            "Arn": f"arn:aws:iam::{ACCT}:instance-profile/web-profile",
                            "Id": "AIPA1",
                        },
                        "State": {"Name": "stopped"},
                        "Tags": [{"Key": "Name", "Value": "web-1"}],
                    },
                    {"InstanceId": "i-0nop", "Placement": {"AvailabilityZone": "eu-west-1b"}},
                    {
                        "InstanceId": "i-0dead",
                        "State": {"Name": "terminated"},
                        "IamInstanceProfile": {
                            "Arn": f"arn:aws:iam::{ACCT}:instance-profile/web-profile"
                        },
                    },
                ],
            }
        ]
    },
    "ec2-launch-templates": {
        "LaunchTemplateVersions": [
            {
                "LaunchTemplateId": "lt-1",
                "LaunchTemplateName": "web",
                "VersionNumber": v,
                "CreatedBy": arn("user", "ops"),
                "LaunchTemplateData": {"IamInstanceProfile": {"Name": "web-profile"}},
            }
            for v in (1, 2)
        ]
    },
    "glue-dev-endpoints": {"DevEndpoints": [{"EndpointName": "dev", "RoleArn": BUILD}]},
    "sagemaker-notebooks": {
        "NotebookInstances": [
            {
                "NotebookInstanceArn": f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/nb",
                "NotebookInstanceName": "nb",
                "RoleArn": DEPLOY,
            }
        ]
    },
}

EXPECTED = {
    Resource("lambda-function", FN + "etl", BUILD, ACCT, "etl"),
    Resource("lambda-function", FN + "api", DEPLOY, ACCT, "api"),
    Resource(
        "codebuild-project", f"arn:aws:codebuild:{REGION}:{ACCT}:project/ci", BUILD, ACCT, "ci"
    ),
    Resource(
        "cloudformation-stack",
        f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/app/1",
        DEPLOY,
        ACCT,
        "app",
    ),
    Resource(
        "apprunner-service", f"arn:aws:apprunner:{REGION}:{ACCT}:service/web/abc", BUILD, ACCT,
        "web",
    ),
    # the region comes from the instance's zone (a Local Zone here), the role from its profile
    Resource(
        "ec2-instance", f"arn:aws:ec2:us-west-2:{ACCT}:instance/i-0abc", arn("role", "web"), ACCT,
        "web-1",
    ),
    # two versions, one profile: one resource; the API gives no region, every other ARN is in
    # eu-west-1... except the instance's us-west-2, so the region cannot be known
    Resource(
        "ec2-launch-template", f"arn:aws:ec2::{ACCT}:launch-template/lt-1", arn("role", "web"),
        ACCT, "web:1",
    ),
    Resource("glue-dev-endpoint", f"arn:aws:glue::{ACCT}:devEndpoint/dev", BUILD, ACCT, "dev"),
    Resource(
        "sagemaker-notebook",
        f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/nb",
        DEPLOY,
        ACCT,
        "nb",
    ),
}  # fmt: skip

ALL_KINDS = frozenset(f.kind for f in RESOURCE_FILES)


def _write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _folder(tmp: Path, listings: dict[str, Any]) -> Path:
    folder = tmp / "aws"
    folder.mkdir(exist_ok=True)
    _write(folder / "authorization-details.json", _export())
    for stem, data in listings.items():
        _write(folder / f"{stem}.json", data)
    return folder


def test_every_kind_from_files_known_answers(tmp_path: Path) -> None:
    folder = _folder(tmp_path, LISTINGS)
    snap, _ = load_aws(folder / "authorization-details.json", resources=folder)
    assert set(snap.resources) == EXPECTED
    assert len(snap.resources) == len(EXPECTED)  # launch-template versions merged
    assert snap.inventory == ALL_KINDS - {"bedrock-code-interpreter"}
    assert snap.warnings == []


def test_listed_but_empty_is_none_and_absent_is_unknown(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"lambda-functions": {"Functions": []}})
    snap, _ = load_aws(folder / "authorization-details.json", resources=folder)
    assert snap.resources == []
    assert snap.inventory == {"lambda-function"}
    bare, _ = load_aws(folder / "authorization-details.json")
    assert bare.inventory == frozenset()


def test_bundle_resources_and_flag_replaces_a_kind(tmp_path: Path) -> None:
    bundle = {
        "format": BUNDLE_FORMAT,
        "collectedAt": "2026-11-28T00:00:00Z",
        "authorizationDetails": [_export()],
        "resources": {
            "lambda-functions": LISTINGS["lambda-functions"],
            "glue-dev-endpoints": LISTINGS["glue-dev-endpoints"],
        },
    }
    path = _write(tmp_path / "bundle.json", bundle)
    snap, _ = load_aws(path)
    assert {r.name for r in snap.resources} == {"etl", "api", "dev"}
    assert snap.inventory == {"lambda-function", "glue-dev-endpoint"}
    # --resources as one object keyed by stem: its Lambda listing replaces the bundle's
    flag = _write(tmp_path / "res.json", {"lambda-functions": {"Functions": []}})
    snap, _ = load_aws(path, resources=flag)
    assert {r.name for r in snap.resources} == {"dev"}
    assert snap.inventory == {"lambda-function", "glue-dev-endpoint"}


def test_concatenated_pages_in_one_file(tmp_path: Path) -> None:
    pages = "\n".join(json.dumps(p) for p in LISTINGS["lambda-functions"])
    folder = _folder(tmp_path, {"lambda-functions": pages})
    snap, _ = load_aws(folder / "authorization-details.json", resources=folder)
    assert {r.name for r in snap.resources} == {"etl", "api"}


def test_roles_and_profiles_missing_from_the_snapshot_warn_once_per_file(tmp_path: Path) -> None:
    ghost = arn("role", "ghost")
    fns = {
        "Functions": [
            {"FunctionArn": FN + f"f{i}", "FunctionName": f"f{i}", "Role": ghost} for i in range(3)
        ]
    }
    ec2 = {
        "Reservations": [
            {
                "OwnerId": ACCT,
                "Instances": [
                    {
                        "InstanceId": f"i-{i}",
                        "IamInstanceProfile": {
                            "Arn": f"arn:aws:iam::{ACCT}:instance-profile/gone{i}"
                        },
                    }
                    for i in range(2)
                ],
            }
        ]
    }
    folder = _folder(tmp_path, {"lambda-functions": fns, "ec2-instances": ec2})
    snap, _ = load_aws(folder / "authorization-details.json", resources=folder)
    assert [r.runs_as for r in snap.resources] == [ghost] * 3  # kept
    (inst, lam) = sorted(snap.warnings)
    assert "ec2-instances.json: 2 instance profile(s) not in the authorization details" in inst
    assert lam.startswith(f"{folder}/lambda-functions.json: resources run as 1 role(s) not")
    assert ghost in lam


def test_folder_snapshot_reads_its_resource_files(tmp_path: Path, cli: CliRunner) -> None:
    folder = _folder(tmp_path, {"codebuild-projects": LISTINGS["codebuild-projects"]})
    result = cli(
        "audit-creep", "--snapshot", str(folder), "--format", "json", "--as-of", "2026-11-28"
    )
    assert result.code == 0, result.stderr
    from nhictl.providers.audit import AuditRequest, audit  # the same path, as a library

    report = audit("aws", AuditRequest(snapshot=folder))
    assert report.principals


def test_cli_resources_flag_stdin(tmp_path: Path, cli: CliRunner) -> None:
    snap = _write(tmp_path / "authz.json", _export())
    body = json.dumps({"glue-dev-endpoints": LISTINGS["glue-dev-endpoints"]}).encode()
    ok = cli("audit-creep", "--snapshot", str(snap), "--resources", "-", "-f", "json", stdin=body)
    assert ok.code == 0, ok.stderr
    bad = cli("audit-creep", "--snapshot", str(snap), "--resources", "-", stdin=b'{"lambda": {}}')
    assert bad.code == 2
    assert bad.stderr.count("\n") <= 2 and "Traceback" not in bad.stderr
    assert "stdin: $.lambda: not a resource listing (did you mean 'lambda-functions'?" in bad.stderr
    gcp = cli(
        "audit-creep", "--provider", "gcp", "--snapshot", str(tmp_path), "--resources", str(snap)
    )
    assert gcp.code == 2 and "--resources is an AWS input" in gcp.stderr


@pytest.mark.parametrize(
    ("stem", "data", "message"),
    [
        (
            "lambda-functions",
            {"Functions": [{"FunctionArn": FN + "x", "FunctionName": "x"}]},
            "lambda-functions.json: $.Functions[0].Role: missing",
        ),
        (
            "lambda-functions",
            [{"Functions": []}, {"NextMarker": "x"}],
            "lambda-functions.json: $[1]: no 'Functions' list; expected the output of "
            "`aws lambda list-functions`",
        ),
        (
            "codebuild-projects",
            {"projects": [{"arn": "a", "name": "n", "serviceRole": 7}]},
            "codebuild-projects.json: $.projects[0].serviceRole: expected string, got int",
        ),
        (
            "cloudformation-stacks",
            {"Stacks": {"StackId": "x"}},
            "cloudformation-stacks.json: $.Stacks: expected array, got object",
        ),
        (
            "ec2-instances",
            {"Reservations": [{"Instances": [{"InstanceId": "i-1", "IamInstanceProfile": {}}]}]},
            "ec2-instances.json: $.Reservations[0].Instances[0].IamInstanceProfile: names no "
            "profile (expected Arn)",
        ),
        (
            "ec2-launch-templates",
            {"LaunchTemplateVersions": [{"LaunchTemplateData": {}}]},
            "ec2-launch-templates.json: $.LaunchTemplateVersions[0].LaunchTemplateId: missing",
        ),
        (
            "glue-dev-endpoints",
            {"DevEndpoints": [{"EndpointName": "", "RoleArn": BUILD}]},
            "glue-dev-endpoints.json: $.DevEndpoints[0].EndpointName: empty",
        ),
        (
            "apprunner-services",
            {"Services": [{"ServiceArn": "a", "InstanceConfiguration": []}]},
            "apprunner-services.json: $.Services[0].InstanceConfiguration: expected object, "
            "got array",
        ),
        ("sagemaker-notebooks", '{"NotebookInstances": [', "sagemaker-notebooks.json:1:"),
    ],
)
def test_malformed_listing_is_one_line_naming_file_and_field(
    tmp_path: Path, cli: CliRunner, stem: str, data: Any, message: str
) -> None:
    folder = _folder(tmp_path, {stem: data})
    with pytest.raises(InputError) as exc:
        load_aws(folder / "authorization-details.json", resources=folder)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    result = cli("audit-creep", "--snapshot", str(folder))
    assert result.code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_resources_folder_without_listings_and_bad_bundle_key(tmp_path: Path) -> None:
    snap = _write(tmp_path / "authz.json", _export())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty: no resource listings in this folder"):
        load_aws(snap, resources=empty)
    bundle = {
        "format": BUNDLE_FORMAT,
        "collectedAt": "2026-11-28T00:00:00Z",
        "authorizationDetails": [_export()],
        "resources": {"ec2-instance": {}},
    }
    with pytest.raises(InputError, match=r"\$\.resources\.ec2-instance: not a resource listing"):
        load_aws(_write(tmp_path / "b.json", bundle))


def test_instance_profile_list_is_checked(tmp_path: Path) -> None:
    r = role("web", doc(allow("s3:*")))
    r["InstanceProfileList"] = [{"InstanceProfileName": "p"}]
    with pytest.raises(
        InputError, match=r"RoleDetailList\[0\]\.InstanceProfileList\[0\]\.Arn: missing"
    ):
        load_aws(_write(tmp_path / "a.json", export(roles=[r])))
