"""Live collection: unmodified boto3 against moto's server mode on loopback.

moto has no last-accessed APIs, so a small loopback proxy answers GenerateServiceLastAccessed-
Details / GetServiceLastAccessedDetails with the documented response shapes (first poll
IN_PROGRESS, one truncated page, one throttling error) and forwards every other call to moto.
moto has no App Runner either: the proxy answers its JSON calls (``json_answers``, by
X-Amz-Target; no services unless a test adds some) and can deny any JSON call (``denied``).
EC2's DescribeRegions is answered with one region, so resources are listed there only.
Never a real AWS account; no traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from nhictl.creep.context import AuditOptions  # noqa: E402
from nhictl.creep.engine import analyse  # noqa: E402
from nhictl.providers.aws.collect import CollectOptions, collect_aws  # noqa: E402
from nhictl.providers.aws.knowledge import aws_knowledge  # noqa: E402
from nhictl.providers.aws.load import load_aws  # noqa: E402
from tests.conftest import CliRunner  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NS = "https://iam.amazonaws.com/doc/2010-05-08/"
RECENT = "2026-11-20T10:00:00Z"


def _member(fields: dict[str, Any]) -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, list):
            parts.append(
                f"<{k}>" + "".join(f"<member>{_member(m)}</member>" for m in v) + f"</{k}>"
            )
        else:
            parts.append(f"<{k}>{v}</{k}>")
    return "".join(parts)


class LastAccessedProxy(BaseHTTPRequestHandler):
    """Answers the two last-accessed actions; forwards the rest to moto."""

    upstream: ClassVar[tuple[str, int]] = ("127.0.0.1", 0)
    jobs: ClassVar[dict[str, str]] = {}
    polls: ClassVar[dict[str, int]] = {}
    throttled: ClassVar[list[bool]] = []
    calls: ClassVar[list[str]] = []
    denied: ClassVar[set[str]] = set()  # X-Amz-Target values answered with AccessDenied
    json_answers: ClassVar[dict[str, Any]] = {}  # X-Amz-Target -> response body
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        if target in self.denied:
            return self._json(400, {"__type": "AccessDeniedException", "message": "denied"})
        if target in self.json_answers:
            return self._json(200, self.json_answers[target])
        form = urllib.parse.parse_qs(body.decode())
        action = form.get("Action", [""])[0]
        with self.lock:
            self.calls.append(action)
        if action == "GenerateServiceLastAccessedDetails":
            with self.lock:
                if not self.throttled:
                    self.throttled.append(True)
                    return self._xml(
                        400,
                        "<ErrorResponse><Error><Type>Sender</Type><Code>"
                        "Throttling</Code><Message>Rate exceeded</Message>"
                        "</Error></ErrorResponse>",
                    )
                job = str(uuid.uuid4())  # JobId is a 36-character UUID
                self.jobs[job] = form["Arn"][0]
            return self._ok(action, {"JobId": job})
        if action == "GetServiceLastAccessedDetails":
            return self._details(form)
        if action == "DescribeRegions":
            return self._xml(
                200,
                '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                "<requestId>r-1</requestId><regionInfo><item><regionName>us-east-1</regionName>"
                "<regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item>"
                "</regionInfo></DescribeRegionsResponse>",
            )
        return self._forward(body)

    def _details(self, form: dict[str, list[str]]) -> None:
        job = form["JobId"][0]
        arn = self.jobs[job]
        with self.lock:
            self.polls[job] = self.polls.get(job, 0) + 1
            first_poll = self.polls[job] == 1
        base = {"JobType": "ACTION_LEVEL", "JobCreationDate": RECENT}
        if first_poll:
            return self._ok(
                "GetServiceLastAccessedDetails",
                {
                    **base,
                    "JobStatus": "IN_PROGRESS",
                    "ServicesLastAccessed": [],
                    "IsTruncated": "false",
                },
            )
        s3 = {
            "ServiceName": "Amazon S3",
            "ServiceNamespace": "s3",
            "LastAuthenticated": RECENT,
            "LastAuthenticatedEntity": arn,
            "LastAuthenticatedRegion": "eu-west-1",
            "TotalAuthenticatedEntities": 1,
            "TrackedActionsLastAccessed": [
                {
                    "ActionName": "GetObject",
                    "LastAccessedTime": RECENT,
                    "LastAccessedEntity": arn,
                    "LastAccessedRegion": "eu-west-1",
                },
                {"ActionName": "DeleteObject"},
            ],
        }
        sqs = {
            "ServiceName": "Amazon SQS",
            "ServiceNamespace": "sqs",
            "TotalAuthenticatedEntities": 0,
        }
        done = {**base, "JobStatus": "COMPLETED", "JobCompletionDate": RECENT}
        if "Marker" not in form:  # first page truncated: the collector must follow Marker
            return self._ok(
                "GetServiceLastAccessedDetails",
                {**done, "ServicesLastAccessed": [s3], "IsTruncated": "true", "Marker": "page-2"},
            )
        return self._ok(
            "GetServiceLastAccessedDetails",
            {**done, "ServicesLastAccessed": [sqs], "IsTruncated": "false"},
        )

    def _ok(self, action: str, result: dict[str, Any]) -> None:
        self._xml(
            200,
            f'<{action}Response xmlns="{NS}"><{action}Result>{_member(result)}'
            f"</{action}Result><ResponseMetadata><RequestId>r-1</RequestId>"
            f"</ResponseMetadata></{action}Response>",
        )

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _xml(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, body: bytes) -> None:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request("POST", self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in (
                "transfer-encoding",
                "content-length",
                "connection",
                "server",
                "date",
            ):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


@pytest.fixture()
def aws_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends live in this process and outlive a server: start from an empty account.
    reset = http.client.HTTPConnection(host, port, timeout=10)
    reset.request("POST", "/moto-api/reset")
    reset.getresponse().read()
    reset.close()
    LastAccessedProxy.upstream = (host, port)
    LastAccessedProxy.jobs, LastAccessedProxy.polls = {}, {}
    LastAccessedProxy.throttled, LastAccessedProxy.calls = [], []
    LastAccessedProxy.denied = set()
    LastAccessedProxy.json_answers = {"AppRunner.ListServices": {"ServiceSummaryList": []}}
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), LastAccessedProxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # every other service (the resource listings) straight to moto: nothing leaves loopback
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_APPRUNNER", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", url)
    try:
        yield url
    finally:
        proxy.shutdown()
        proxy.server_close()
        server.stop()


def _populate() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="agent", Path="/agents/", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="agent",
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:DeleteObject"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    pol = iam.create_policy(
        PolicyName="queue",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.create_policy_version(
        PolicyArn=pol,
        SetAsDefault=True,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
            }
        ),
    )
    iam.attach_role_policy(RoleName="agent", PolicyArn=pol)
    iam.create_group(GroupName="ops")
    iam.put_group_policy(
        GroupName="ops",
        PolicyName="pass",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
            }
        ),
    )
    iam.create_user(UserName="etl")
    iam.add_user_to_group(GroupName="ops", UserName="etl")
    iam.create_access_key(UserName="etl")


def test_collect_bundle_and_audit(aws_endpoint: str, tmp_path: Path) -> None:
    _populate()
    stages: list[str] = []
    bundle = collect_aws(
        CollectOptions(poll_initial_s=0.01, poll_max_s=0.02),
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert bundle["format"] == "nhictl.snapshot.aws/v1"
    schema = json.loads(
        resources.files("nhictl").joinpath("schemas/snapshot-aws.v1.schema.json").read_text()
    )
    jsonschema.Draft202012Validator(schema).validate(bundle)
    assert bundle["account"]
    roles = [r for p in bundle["authorizationDetails"] for r in p["RoleDetailList"]]
    assert [r["RoleName"] for r in roles] == ["agent"]
    (key,) = bundle["accessKeys"]["AccessKeyMetadata"]
    assert key["UserName"] == "etl" and "AccessKeyLastUsed" in key
    assert "SecretAccessKey" not in json.dumps(bundle)
    la = bundle["lastAccessed"]
    assert bundle["notes"] == []
    assert set(la) == {roles[0]["Arn"], f"arn:aws:iam::{bundle['account']}:user/etl"}
    pages = la[roles[0]["Arn"]]
    assert isinstance(pages, list) and len(pages) == 2  # the Marker was followed
    assert LastAccessedProxy.throttled == [True]  # throttled once, retried by botocore
    assert "GetServiceLastAccessedDetails" in LastAccessedProxy.calls
    assert {"authorization details", "access keys", "last accessed"} <= set(stages)

    # The bundle is a valid --snapshot input and audits end to end.
    out = tmp_path / "bundle.json"
    out.write_text(json.dumps(bundle))
    snap, keys_known = load_aws(out)
    assert keys_known and snap.usage
    report = analyse(
        snap,
        aws_knowledge(),
        AuditOptions(now=datetime(2026, 11, 28, tzinfo=UTC)),
        None,
        keys_known,
    )
    rules = {(f.rule_id, f.principal.rsplit("/", 1)[-1]) for f in report.findings}
    assert ("creep.growth", "agent") in rules  # queue policy v1 -> v2
    assert ("priv.escalation", "etl") not in rules  # PassRole alone (via the group) is not one
    usage = snap.usage[roles[0]["Arn"]]
    assert usage.action_services == frozenset({"s3"})
    assert usage.actions["s3:deleteobject"] is None and usage.actions["s3:getobject"]
    assert set(usage.services) == {"s3", "sqs"}
    # moto cannot backdate a role: just created, it is inside the window and gets grace
    (agent,) = [p for p in report.principals if p.name == "agent"]
    assert agent.used == {
        "known": False,
        "reason": "created inside the window: too new to judge",
        "last_activity": RECENT.replace("Z", "+00:00"),
    }


def test_cli_collect_and_live_audit(aws_endpoint: str, tmp_path: Path, cli: CliRunner) -> None:
    _populate()
    out = tmp_path / "bundle.json"
    result = cli("collect", "aws", "--out", str(out), "--no-last-accessed")
    assert result.code == 0, result.stderr
    bundle = json.loads(out.read_text())
    assert bundle["lastAccessed"] == {} and bundle["accessKeys"]["AccessKeyMetadata"]
    audited = cli("audit-creep", "--snapshot", str(out), "--format", "json")
    assert audited.code == 0, audited.stderr
    assert json.loads(audited.stdout)["summary"]["principals"] == 2
    # --live collects and audits in one go (last-accessed jobs poll the loopback endpoint)
    LastAccessedProxy.throttled.append(True)  # no throttling on this run: keep it quick
    live = cli("audit-creep", "--live", "--format", "json", "--fail-on", "critical")
    assert live.code == 0, live.stderr
    assert {p["name"] for p in json.loads(live.stdout)["principals"]} == {"agent", "etl"}
