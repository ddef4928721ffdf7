"""Loading, validating and failing closed: broken policies and erroring rules never allow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nhictl.core.errors import ConfigError, InputError
from nhictl.core.policy import (
    AgentEntity,
    PolicyEngine,
    agent_from_manifest,
    issue_context,
    validate_policy_files,
)
from nhictl.core.policy.engine import ACTIONS, actions_in_scope
from nhictl.core.policy.files import statement_lines

POLICY_DIR = Path(__file__).resolve().parent.parent / "sample-configs" / "policies"

MANIFEST: dict[str, Any] = {
    "metadata": {"name": "demo", "owner": "team-a", "sponsor": "bob@example.com"},
    "spec": {
        "environments": ["dev"],
        "dataSensitivity": "internal",
        "tools": [],
        "intents": [{"name": "read", "scopes": ["docs:read"]}],
        "credentials": {"defaultTtl": "5m", "maxTtl": "10m"},
    },
}

PERMIT_ISSUE = """
@id("allow-issue")
@reason("issue is allowed")
permit (principal, action == Action::"issue", resource);
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def agent() -> AgentEntity:
    return agent_from_manifest(MANIFEST, status="active")


def ctx(intent: str = "read", ttl: int = 60) -> dict[str, Any]:
    return issue_context(
        task="t", intent=intent, scopes=["docs:read"], data_sensitivity="internal",
        environment="dev", tools=[], ttl_seconds=ttl, agent_revision=1,
    )  # fmt: skip


def test_shipped_policies_validate_cleanly() -> None:
    assert validate_policy_files([POLICY_DIR]) == []
    engine = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)
    assert all(p.reason for p in engine.policies.values())
    assert "issue.baseline" in engine.policies


# -- fail closed -------------------------------------------------------------------------------


def test_permit_plus_erroring_forbid_is_deny(tmp_path: Path) -> None:
    # Cedar skips a forbid that errors at run time (here: integer overflow) and returns Allow.
    write(tmp_path, "p.cedar", PERMIT_ISSUE + """
@id("forbid-overflow")
@reason("never reached")
forbid (principal, action == Action::"issue", resource)
when { context.ttlSeconds * 9223372036854775807 > 0 };
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    decision = engine.decide("issue", agent(), ctx(ttl=60))
    assert not decision.allowed
    assert decision.decision == "deny"
    assert decision.policy_ids == ["forbid-overflow"]
    assert "overflow" in decision.errors[0]
    assert decision.reasons[0].startswith("denied: a policy failed to evaluate")
    # The same forbid without the overflow does not fire, and the permit holds.
    assert engine.decide("issue", agent(), ctx(ttl=0)).allowed


def test_forbid_reading_a_missing_entity_is_deny(tmp_path: Path) -> None:
    # Validates fine, but for an undeclared intent the Intent entity does not exist at run time.
    write(tmp_path, "p.cedar", PERMIT_ISSUE + """
@id("forbid-read-only")
forbid (principal, action == Action::"issue", resource) when { resource.readOnly };
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    decision = engine.decide("issue", agent(), ctx(intent="undeclared"))
    assert not decision.allowed
    assert decision.policy_ids == ["forbid-read-only"]
    assert "does not exist" in decision.errors[0]


def test_no_matching_permit_is_default_deny(tmp_path: Path) -> None:
    write(
        tmp_path,
        "p.cedar",
        '@id("only-register")\npermit (principal, action == Action::"register", resource);',
    )
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    decision = engine.decide("issue", agent(), ctx())
    assert not decision.allowed
    assert decision.policy_ids == []
    assert decision.reasons == ["no policy permits issue for agent demo (default deny)"]


def test_reason_is_generated_without_annotation(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", PERMIT_ISSUE + """
@id("no-long-ttl")
forbid (principal, action == Action::"issue", resource) when { context.ttlSeconds > 300 };
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    decision = engine.decide("issue", agent(), ctx(ttl=301))
    assert decision.policy_ids == ["no-long-ttl"]
    assert decision.reasons == ["forbidden by policy no-long-ttl"]
    allowed = engine.decide("issue", agent(), ctx(ttl=300))
    assert allowed.reasons == ["issue is allowed"]


def test_registration_error_is_denied_not_pending(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", """
@id("reg") permit (principal, action == Action::"register", resource);
@id("act") permit (principal, action == Action::"activate", resource);
@id("act-overflow")
forbid (principal, action == Action::"activate", resource)
when { principal.maxTtlSeconds * 9223372036854775807 > 0 };
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    result = engine.decide_registration(MANIFEST)
    assert result.outcome == "denied"
    assert result.policy_ids == ["act-overflow"]
    assert result.errors


def test_unknown_action_is_input_error() -> None:
    engine = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)
    with pytest.raises(InputError):
        engine.decide("delete", agent(), {})


def test_labels_are_tags_policies_can_read(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", PERMIT_ISSUE + """
@id("cost-center-required")
forbid (principal, action == Action::"issue", resource)
unless { principal.hasTag("cost-center") && principal.getTag("cost-center") == "4411" };
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    assert engine.decide("issue", agent(), ctx()).policy_ids == ["cost-center-required"]
    labelled = {**MANIFEST, "metadata": {**MANIFEST["metadata"], "labels": {"cost-center": 4411}}}
    assert engine.decide("issue", agent_from_manifest(labelled, status="active"), ctx()).allowed


def test_team_hierarchy_and_request_attributes(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", """
@id("team-a-authorize")
permit (principal in Team::"team-a", action == Action::"authorize", resource)
when { context.attributes.hasTag("ticket") && context.attributes.getTag("ticket") like "CHG-*" };
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    from nhictl.core.policy import authorize_context

    def request(attrs: dict[str, str]) -> dict[str, Any]:
        return authorize_context(
            task="t", intent="read", scopes=["docs:read"], data_sensitivity="internal",
            environment="dev", tools=[], agent_revision=1, action="docs:read", attributes=attrs,
        )  # fmt: skip

    assert engine.decide("authorize", agent(), request({"ticket": "CHG-7"})).allowed
    assert not engine.decide("authorize", agent(), request({"ticket": "INC-7"})).allowed
    assert not engine.decide("authorize", agent(), request({})).allowed
    other = {**MANIFEST, "metadata": {**MANIFEST["metadata"], "owner": "team-b"}}
    other_agent = agent_from_manifest(other, status="active")
    assert not engine.decide("authorize", other_agent, request({"ticket": "CHG-7"})).allowed


# -- loading and validation ----------------------------------------------------------------------


def test_missing_id_is_rejected_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.cedar",
        PERMIT_ISSUE + "\n// comment; with a semicolon\npermit (principal, action, resource);\n",
    )
    problems = validate_policy_files([tmp_path])
    assert [(p.file, p.line, p.policy_id) for p in problems] == [(str(path), 7, None)]
    assert "@id" in problems[0].message
    with pytest.raises(ConfigError, match=r"p\.cedar:7"):
        PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.cedar", PERMIT_ISSUE)
    write(tmp_path, "b.cedar", PERMIT_ISSUE)
    problems = validate_policy_files([tmp_path])
    assert len(problems) == 1
    assert problems[0].policy_id == "allow-issue"
    assert problems[0].file.endswith("b.cedar")
    assert "a.cedar:2" in problems[0].message


def test_syntax_error_names_the_statement_line(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", PERMIT_ISSUE + """
@id("ok-2")
@reason("a ; inside a string")
permit (principal, action == Action::"register", resource);

@id("broken")
forbid (principal, action, resource) when { context.x >> 1 };
""")  # fmt: skip
    problems = validate_policy_files([tmp_path])
    assert len(problems) == 1
    assert problems[0].line == 10
    assert problems[0].message.startswith("syntax error")


def test_schema_violations_name_the_policy(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", PERMIT_ISSUE + """
@id("typo")
forbid (principal, action == Action::"issue", resource) when { principal.maxTTL > 5 };

@id("unguarded-optional")
forbid (principal, action == Action::"issue", resource) when { context.onBehalfOf == "x" };

@id("wrong-type")
forbid (principal, action == Action::"issue", resource) when { context.ttlSeconds == "600" };

@id("unknown-action")
permit (principal, action == Action::"deploy", resource);
""")  # fmt: skip
    problems = validate_policy_files([tmp_path])
    by_id = {p.policy_id: p for p in problems}
    assert set(by_id) == {"typo", "unguarded-optional", "wrong-type", "unknown-action"}
    assert by_id["typo"].line == 6
    assert "maxTTL" in by_id["typo"].message
    assert "`typo`" in by_id["typo"].message  # stable id, not cedarpy's positional policy1
    assert by_id["unguarded-optional"].line == 9
    with pytest.raises(ConfigError, match="invalid policy"):
        PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('@id("t")\npermit (principal == ?principal, action, resource);', "templates"),
        ('@id("bad id!")\npermit (principal, action, resource);', "@id must be"),
        ('@id("")\npermit (principal, action, resource);', "no @id"),
    ],
)
def test_rejected_policy_shapes(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "p.cedar", text)
    problems = validate_policy_files([tmp_path])
    assert problems
    assert message in problems[0].message


def test_unreadable_inputs(tmp_path: Path) -> None:
    """A missing path or a file that cannot be read is an input error (exit 2), not a
    problem in a policy (exit 1): there is nothing to judge."""
    (tmp_path / "bin.cedar").write_bytes(b"\xff\xfe permit")
    with pytest.raises(InputError, match=r"bin\.cedar: cannot read policy file: not UTF-8"):
        validate_policy_files([tmp_path])
    with pytest.raises(InputError, match=r"missing: no such file or directory"):
        validate_policy_files([tmp_path / "missing"])
    with pytest.raises(ConfigError, match=r"invalid policy: .*missing: no such file or directory"):
        PolicyEngine.load([tmp_path / "missing"], ttl_ceiling_seconds=3600)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert validate_policy_files([empty])[0].message == "no *.cedar policy files found"
    with pytest.raises(ConfigError, match=r"no \*\.cedar policy files"):
        PolicyEngine.load([empty], ttl_ceiling_seconds=3600)


@pytest.mark.parametrize("ceiling", [0, -1, True])
def test_bad_ceiling_is_config_error(ceiling: int) -> None:
    with pytest.raises(ConfigError):
        PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=ceiling)


def test_policies_from_several_directories_combine(tmp_path: Path) -> None:
    write(tmp_path, "extra.cedar", """
@id("org.no-github-tool")
@reason("the github tool is banned this quarter")
forbid (principal, action == Action::"issue", resource) when { context.tools.contains("github") };
""")  # fmt: skip
    engine = PolicyEngine.load([POLICY_DIR, tmp_path], ttl_ceiling_seconds=3600)
    doc = {**MANIFEST, "spec": {**MANIFEST["spec"], "tools": ["github"]}}
    github = agent_from_manifest(doc, status="active")
    context = issue_context(
        task="t", intent="read", scopes=["docs:read"], data_sensitivity="internal",
        environment="dev", tools=["github"], ttl_seconds=60, agent_revision=1,
    )  # fmt: skip
    decision = engine.decide("issue", github, context)
    assert decision.policy_ids == ["org.no-github-tool"]
    assert decision.reasons == ["the github tool is banned this quarter"]


def test_statement_lines_skip_comments_and_strings() -> None:
    text = (
        '// a; b\n@id("x;y")\npermit (principal, action, resource)\n'
        '  when { context.s == "a;\\"b" };\n\n\nforbid'
    )
    assert statement_lines(text) == [2, 7]


# -- each action decided on the policies that can name it ---------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"op": "All"}, set(ACTIONS)),
        ({"op": "==", "entity": {"type": "Action", "id": "issue"}}, {"issue"}),
        (
            {"op": "in", "entities": [{"type": "Action", "id": "issue"},
                                      {"type": "Action", "id": "authorize"}]},
            {"issue", "authorize"},
        ),
        ({"op": "in", "entity": {"type": "Action", "id": "register"}}, {"register"}),
        # Anything not read exactly (a group, another type, an unknown op) applies everywhere.
        ({"op": "in", "entity": {"type": "Action", "id": "writes"}}, set(ACTIONS)),
        ({"op": "==", "entity": {"type": "Ns::Action", "id": "issue"}}, set(ACTIONS)),
        ({"op": "is", "entity_type": "Action"}, set(ACTIONS)),
        ({"op": "in", "entities": "issue"}, set(ACTIONS)),
        (None, set(ACTIONS)),
    ],
)  # fmt: skip
def test_actions_in_scope(scope: Any, expected: set[str]) -> None:
    assert actions_in_scope({"action": scope}) == expected


def test_unscoped_and_listed_actions_apply_where_they_name(tmp_path: Path) -> None:
    write(tmp_path, "p.cedar", """
@id("issue-or-authorize")
permit (principal, action in [Action::"issue", Action::"authorize"], resource);
@id("register") permit (principal, action == Action::"register", resource);
@id("no-long-anything") forbid (principal, action, resource)
when { context has ttlSeconds && context.ttlSeconds > 300 };
@id("register-only-forbid") forbid (principal, action == Action::"register", resource);
""")  # fmt: skip
    engine = PolicyEngine.load([tmp_path], ttl_ceiling_seconds=3600)
    allowed = engine.decide("issue", agent(), ctx(ttl=60))
    assert allowed.allowed and allowed.policy_ids == ["issue-or-authorize"]
    # The unscoped forbid reaches issue; the register-scoped one does not.
    assert engine.decide("issue", agent(), ctx(ttl=301)).policy_ids == ["no-long-anything"]
    assert engine.decide_registration(MANIFEST).policy_ids == ["register-only-forbid"]
