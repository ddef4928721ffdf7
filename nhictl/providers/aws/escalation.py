"""AWS privilege-escalation methods, written for nhictl from the public write-ups.

Sources: Rhino Security Labs' "AWS IAM Privilege Escalation Methods" (Gietzen, 2018) and the
pathfinding.cloud path catalogue. Each method lists the actions it needs; a principal that holds
all of them -- across any number of its policies -- can escalate. Target-dependent paths (assume
a more privileged role, run commands on a privileged instance) need a reachability graph and are
not listed here.
"""

from __future__ import annotations

from nhictl.creep.knowledge import EscalationMethod

_PF = "https://pathfinding.cloud/paths/"


def _m(mid: str, name: str, *requires: tuple[str, ...] | str, note: str = "") -> EscalationMethod:
    groups = tuple((r,) if isinstance(r, str) else r for r in requires)
    return EscalationMethod(mid, name, groups, _PF + mid if "-" in mid else "", note)


METHODS: tuple[EscalationMethod, ...] = (
    # IAM policy manipulation on self or others
    _m(
        "iam-001",
        "CreateNewPolicyVersion",
        "iam:CreatePolicyVersion",
        note="publish a new default version of a policy attached to itself",
    ),
    _m(
        "iam-set-default-version",
        "SetExistingDefaultPolicyVersion",
        "iam:SetDefaultPolicyVersion",
        note="roll a policy back to a more permissive earlier version",
    ),
    _m(
        "iam-002",
        "CreateAccessKey",
        "iam:CreateAccessKey",
        note="mint keys for a more privileged user",
    ),
    _m("iam-003", "RotateAccessKey", "iam:CreateAccessKey", "iam:DeleteAccessKey"),
    _m("iam-004", "CreateLoginProfile", "iam:CreateLoginProfile"),
    _m("iam-006", "UpdateLoginProfile", "iam:UpdateLoginProfile"),
    _m("iam-007", "PutUserPolicy", "iam:PutUserPolicy"),
    _m("iam-008", "AttachUserPolicy", "iam:AttachUserPolicy"),
    _m("iam-010", "AttachGroupPolicy", "iam:AttachGroupPolicy"),
    _m("iam-011", "PutGroupPolicy", "iam:PutGroupPolicy"),
    _m("iam-009", "AttachRolePolicy", "iam:AttachRolePolicy"),
    _m("iam-005", "PutRolePolicy", "iam:PutRolePolicy"),
    _m("iam-013", "AddUserToGroup", "iam:AddUserToGroup"),
    _m("iam-012", "UpdateAssumeRolePolicy", "iam:UpdateAssumeRolePolicy", "sts:AssumeRole"),
    _m("iam-016", "CreatePolicyVersion+AssumeRole", "iam:CreatePolicyVersion", "sts:AssumeRole"),
    _m(
        "iam-019",
        "AttachRolePolicy+UpdateAssumeRolePolicy",
        ("iam:AttachRolePolicy", "iam:PutRolePolicy"),
        "iam:UpdateAssumeRolePolicy",
    ),
    _m(
        "iam-permissions-boundary",
        "DeleteOrPutPermissionsBoundary",
        (
            "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteUserPermissionsBoundary",
            "iam:PutRolePermissionsBoundary",
            "iam:PutUserPermissionsBoundary",
        ),
        note="lift the boundary that keeps the principal's own grants in check",
    ),
    # Pass a role to a compute service, then run code as it
    _m("ec2-001", "PassRoleToNewEC2", "iam:PassRole", "ec2:RunInstances"),
    _m("ec2-003", "PassRoleToSpotInstance", "iam:PassRole", "ec2:RequestSpotInstances"),
    _m(
        "ec2-002",
        "ModifyInstanceUserData",
        "ec2:ModifyInstanceAttribute",
        "ec2:StopInstances",
        "ec2:StartInstances",
    ),
    _m(
        "ec2-004",
        "LaunchTemplateVersion",
        "ec2:CreateLaunchTemplateVersion",
        "ec2:ModifyLaunchTemplate",
    ),
    _m(
        "lambda-001",
        "PassRoleToNewLambdaThenInvoke",
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:InvokeFunction",
    ),
    _m(
        "lambda-002",
        "PassRoleToNewLambdaEventSource",
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:CreateEventSourceMapping",
    ),
    _m(
        "lambda-006",
        "PassRoleToNewLambdaAddPermission",
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:AddPermission",
    ),
    _m("lambda-003", "UpdateExistingLambdaCode", "lambda:UpdateFunctionCode"),
    _m("glue-001", "PassRoleToGlueDevEndpoint", "iam:PassRole", "glue:CreateDevEndpoint"),
    _m("glue-002", "UpdateGlueDevEndpoint", "glue:UpdateDevEndpoint"),
    _m(
        "glue-003",
        "PassRoleToGlueJob",
        "iam:PassRole",
        ("glue:CreateJob", "glue:UpdateJob"),
        ("glue:StartJobRun", "glue:CreateTrigger"),
    ),
    _m(
        "cloudformation-001",
        "PassRoleToCloudFormation",
        "iam:PassRole",
        "cloudformation:CreateStack",
    ),
    _m(
        "cloudformation-003",
        "CloudFormationChangeSet",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
    ),
    _m(
        "cloudformation-004",
        "PassRoleToStackSet",
        "iam:PassRole",
        "cloudformation:CreateStackSet",
        "cloudformation:CreateStackInstances",
    ),
    _m(
        "datapipeline-001",
        "PassRoleToDataPipeline",
        "iam:PassRole",
        "datapipeline:CreatePipeline",
        "datapipeline:PutPipelineDefinition",
    ),
    _m(
        "codebuild-001",
        "PassRoleToCodeBuild",
        "iam:PassRole",
        "codebuild:CreateProject",
        ("codebuild:StartBuild", "codebuild:StartBuildBatch"),
    ),
    _m(
        "ecs-001",
        "PassRoleToEcsTask",
        "iam:PassRole",
        "ecs:RegisterTaskDefinition",
        ("ecs:RunTask", "ecs:StartTask", "ecs:CreateService", "ecs:UpdateService"),
    ),
    _m("ecs-006", "EcsExecIntoTask", "ecs:ExecuteCommand"),
    _m(
        "sagemaker-001",
        "PassRoleToSageMakerNotebook",
        "iam:PassRole",
        "sagemaker:CreateNotebookInstance",
    ),
    _m(
        "sagemaker-002",
        "PassRoleToSageMakerJob",
        "iam:PassRole",
        ("sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"),
    ),
    _m(
        "sagemaker-004",
        "SageMakerPresignedNotebookUrl",
        "sagemaker:CreatePresignedNotebookInstanceUrl",
    ),
    _m("apprunner-001", "PassRoleToAppRunner", "iam:PassRole", "apprunner:CreateService"),
    _m(
        "ssm-send-command",
        "SsmSendCommand",
        ("ssm:SendCommand", "ssm:StartSession"),
        note="target-dependent: escalates when an instance runs with a stronger profile",
    ),
)
