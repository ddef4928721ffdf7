"""``collect aws`` lists the resources that run as a role: unmodified boto3 against moto's server
mode on loopback (the fixture of test_collect_live), and the bundle audits them.

The regions come from EC2's DescribeRegions (the proxy answers one) or --resource-region.
moto has no App Runner: the fixture's loopback proxy answers ListServices / DescribeService in
the documented shapes. One denial is made by the same proxy answering Glue's GetDevEndpoints
with AccessDeniedException, to see a denied kind stay "unknown".
"""

from __future__ import annotations

import io
import json
import zipfile
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from nhictl.creep.model import Resource  # noqa: E402
from nhictl.providers.aws.collect import CollectOptions, collect_aws  # noqa: E402
from nhictl.providers.aws.load import load_aws  # noqa: E402
from tests.conftest import CliRunner  # noqa: E402
from tests.creep import test_collect_live as live  # noqa: E402

LastAccessedProxy = live.LastAccessedProxy
aws_endpoint = live.aws_endpoint  # the fixture: moto server + the loopback proxy

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def _populate() -> dict[str, str]:
    """One of each kind moto supports, each running as its own role; returns kind -> role ARN."""
    iam = boto3.client("iam", region_name=REGION)
    roles = {
        kind: iam.create_role(RoleName=kind, AssumeRolePolicyDocument=_trust(svc))["Role"]["Arn"]
        for kind, svc in (
            ("lambda-function", "lambda"),
            ("codebuild-project", "codebuild"),
            ("cloudformation-stack", "cloudformation"),
            ("ec2-instance", "ec2"),
            ("glue-dev-endpoint", "glue"),
            ("sagemaker-notebook", "sagemaker"),
        )
    }
    iam.create_instance_profile(InstanceProfileName="web-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="ec2-instance")
    profile = iam.get_instance_profile(InstanceProfileName="web-profile")["InstanceProfile"]

    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="etl",
        Runtime="python3.12",
        Role=roles["lambda-function"],
        Handler="index.handler",
        Code={"ZipFile": _zip()},
    )
    boto3.client("codebuild", region_name=REGION).create_project(
        name="ci",
        source={"type": "S3", "location": "bucket/src.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=roles["codebuild-project"],
    )
    cfn = boto3.client("cloudformation", region_name=REGION)
    template = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    cfn.create_stack(StackName="app", TemplateBody=template, RoleARN=roles["cloudformation-stack"])
    cfn.create_stack(StackName="plain", TemplateBody=template)  # no role: no edge
    ec2 = boto3.client("ec2", region_name=REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        IamInstanceProfile={"Arn": profile["Arn"]},
    )
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    ec2.create_launch_template(
        LaunchTemplateName="web",
        LaunchTemplateData={"IamInstanceProfile": {"Name": "web-profile"}, "ImageId": image},
    )
    boto3.client("glue", region_name=REGION).create_dev_endpoint(
        EndpointName="dev", RoleArn=roles["glue-dev-endpoint"]
    )
    boto3.client("sagemaker", region_name=REGION).create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t2.medium", RoleArn=roles["sagemaker-notebook"]
    )
    service = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/web/0123"
    roles["apprunner-service"] = roles["lambda-function"]  # moto has no App Runner: see above
    LastAccessedProxy.json_answers = {
        "AppRunner.ListServices": {
            "ServiceSummaryList": [{"ServiceArn": service, "ServiceName": "web"}]
        },
        "AppRunner.DescribeService": {
            "Service": {
                "ServiceArn": service,
                "ServiceName": "web",
                "ServiceId": "0123",
                "ServiceUrl": "web.example",
                "CreatedAt": 1764547200,
                "Status": "RUNNING",
                "SourceConfiguration": {},
                "InstanceConfiguration": {
                    "Cpu": "1024",
                    "InstanceRoleArn": roles["lambda-function"],
                },
                "NetworkConfiguration": {},
                "AutoScalingConfigurationSummary": {},
            }
        },
    }
    return roles


def _schema_check(bundle: dict[str, object]) -> None:
    schema = json.loads(
        resources.files("nhictl").joinpath("schemas/snapshot-aws.v1.schema.json").read_text()
    )
    jsonschema.Draft202012Validator(schema).validate(bundle)


def test_collect_resources_and_audit_them(aws_endpoint: str, tmp_path: Path) -> None:
    roles = _populate()
    opts = CollectOptions(last_accessed=False)  # regions: DescribeRegions (one, via the proxy)
    bundle = collect_aws(opts)
    _schema_check(bundle)
    got = bundle["resources"]
    assert isinstance(got, dict)
    assert set(got) == {
        "lambda-functions",
        "apprunner-services",
        "codebuild-projects",
        "cloudformation-stacks",
        "ec2-instances",
        "ec2-launch-templates",
        "glue-dev-endpoints",
        "sagemaker-notebooks",
    }
    assert bundle["notes"] == []

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    snap, _ = load_aws(path)
    account = str(bundle["account"])
    by_kind = {r.kind: r for r in snap.resources}
    assert sorted(by_kind) == sorted([*roles, "ec2-launch-template"])
    assert len(snap.resources) == len(by_kind)  # the role-less instance and stack: no edge
    for kind, role in roles.items():
        assert by_kind[kind].runs_as == role and by_kind[kind].account == account
    assert by_kind["ec2-launch-template"].runs_as == roles["ec2-instance"]
    assert by_kind["lambda-function"] == Resource(
        "lambda-function",
        f"arn:aws:lambda:{REGION}:{account}:function:etl",
        roles["lambda-function"],
        account,
        "etl",
    )
    instance = by_kind["ec2-instance"].id
    assert instance.startswith(f"arn:aws:ec2:{REGION}:{account}:instance/i-")
    assert by_kind["glue-dev-endpoint"].id == f"arn:aws:glue:{REGION}:{account}:devEndpoint/dev"
    assert snap.inventory == {r.kind for r in snap.resources}
    assert snap.warnings == []


def test_denied_kind_is_left_out_with_the_permission_to_add(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, cli: CliRunner, tmp_path: Path
) -> None:
    _populate()
    monkeypatch.setenv("AWS_ENDPOINT_URL_GLUE", aws_endpoint)  # through the denying proxy
    LastAccessedProxy.denied = {"AWSGlue.GetDevEndpoints"}
    out = tmp_path / "bundle.json"
    result = cli(
        "collect", "aws", "--out", str(out), "--no-last-accessed", "--resource-region", REGION
    )
    assert result.code == 0, result.stderr
    bundle = json.loads(out.read_text())
    assert "glue-dev-endpoints" not in bundle["resources"]
    assert "lambda-functions" in bundle["resources"]
    denied = (
        "resources: glue-dev-endpoints left out (unknown to the audit): glue:GetDevEndpoints "
        "was denied: add glue:GetDevEndpoints to the collecting identity's policy"
    )
    assert denied in bundle["notes"] and f"note: {denied}" in result.stderr
    snap, _ = load_aws(out)
    assert snap.warnings == [f"{out}: {denied}"]  # the report says why the kind is unknown
    assert "glue-dev-endpoint" not in snap.inventory  # unknown, not "none"
    assert "lambda-function" in snap.inventory
