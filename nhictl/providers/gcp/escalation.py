"""GCP privilege-escalation methods, written for nhictl from the public write-ups.

Sources: Rhino Security Labs, "Privilege Escalation in Google Cloud Platform" part 1 (IAM) and
part 2 (non-IAM), with the permission sets of their PrivEscScanner
(github.com/RhinoSecurityLabs/GCP-IAM-Privilege-Escalation), and Google's documentation of
service-account impersonation and of the ``actAs`` permission. A principal that holds every
permission of a method -- across any number of its bindings -- can escalate. Where the method
needs a target (an account to impersonate, a custom role it holds, a more privileged service
agent), the finding names the permission and the note says what it depends on; the scope
("resource *" for a project or higher binding, "scoped resources" for a binding on one service
account) tells how far it reaches.
"""

from __future__ import annotations

from nhictl.creep.knowledge import EscalationMethod

_RHINO_1 = "https://rhinosecuritylabs.com/gcp/privilege-escalation-google-cloud-platform-part-1/"
_RHINO_2 = "https://rhinosecuritylabs.com/gcp/privilege-escalation-google-cloud-platform-part-2/"
_RHINO_BUILD = (
    "https://rhinosecuritylabs.com/gcp/working-as-intendedrce-to-iam-privilege-escalation-in-gcp"
)
# Google's page on the roles that let a principal impersonate or attach an account (actAs).
_ACT_AS = "https://cloud.google.com/iam/docs/service-account-permissions"
_ACT = "iam.serviceAccounts.actAs"


def _m(
    mid: str, name: str, ref: str, *requires: tuple[str, ...] | str, note: str = ""
) -> EscalationMethod:
    groups = tuple((r,) if isinstance(r, str) else r for r in requires)
    return EscalationMethod(mid, name, groups, ref, note)


METHODS: tuple[EscalationMethod, ...] = (
    # Act as another service account directly
    _m(
        "gcp-sa-get-access-token",
        "GetServiceAccountAccessToken",
        _RHINO_1,
        "iam.serviceAccounts.getAccessToken",
        note="mint an OAuth token for any service account the binding reaches",
    ),
    _m(
        "gcp-sa-sign-blob",
        "ServiceAccountSignBlob",
        _RHINO_1,
        "iam.serviceAccounts.signBlob",
        note="sign a self-made token request as the account",
    ),
    _m(
        "gcp-sa-sign-jwt",
        "ServiceAccountSignJwt",
        _RHINO_1,
        "iam.serviceAccounts.signJwt",
        note="sign a JWT assertion as the account and trade it for a token",
    ),
    _m(
        "gcp-sa-implicit-delegation",
        "ServiceAccountImplicitDelegation",
        _RHINO_1,
        "iam.serviceAccounts.implicitDelegation",
        note="chain through an account to the accounts it may impersonate",
    ),
    _m(
        "gcp-sa-key-create",
        "CreateServiceAccountKey",
        _RHINO_1,
        "iam.serviceAccountKeys.create",
        note="a long-lived key for any account the binding reaches",
    ),
    _m(
        "gcp-sa-hmac-key-create",
        "CreateServiceAccountHMACKey",
        _RHINO_2,
        "storage.hmacKeys.create",
        note="an HMAC key acting as an account in Cloud Storage",
    ),
    # Change who may do what
    _m(
        "gcp-sa-set-iam-policy",
        "SetServiceAccountIAMPolicy",
        _RHINO_1,
        "iam.serviceAccounts.setIamPolicy",
        note="grant itself an impersonation role on a more privileged account",
    ),
    _m(
        "gcp-project-set-iam-policy",
        "SetProjectIAMPolicy",
        _RHINO_1,
        "resourcemanager.projects.setIamPolicy",
        note="grant itself any role in the project (Owner included)",
    ),
    _m(
        "gcp-folder-set-iam-policy",
        "SetFolderIAMPolicy",
        _RHINO_1,
        "resourcemanager.folders.setIamPolicy",
        note="grant itself any role on the folder, inherited by every project below",
    ),
    _m(
        "gcp-org-set-iam-policy",
        "SetOrgIAMPolicy",
        _RHINO_1,
        "resourcemanager.organizations.setIamPolicy",
        note="grant itself any role on the organization",
    ),
    _m(
        "gcp-custom-role-update",
        "UpdateIAMRole",
        _RHINO_1,
        "iam.roles.update",
        note="add permissions to a custom role it holds (custom-role creep)",
    ),
    _m(
        "gcp-org-policy-set",
        "SetOrgPolicyConstraints",
        _RHINO_2,
        "orgpolicy.policy.set",
        note="lift organization-policy constraints that keep other grants in check",
    ),
    # Run code as a service account (actAs + a service that runs as it)
    _m(
        "gcp-deploymentmanager-create",
        "CreateDeploymentManagerDeployment",
        _RHINO_1,
        "deploymentmanager.deployments.create",
        note="deployments run as the project's Google APIs service agent (Editor by default)",
    ),
    _m(
        "gcp-cloudbuild-create",
        "RCECloudBuildBuildServer",
        _RHINO_BUILD,
        "cloudbuild.builds.create",
        note="builds run as the Cloud Build service account and can read its token",
    ),
    _m(
        "gcp-cloudfunctions-create",
        "ExfilCloudFunctionCreds",
        _RHINO_1,
        "cloudfunctions.functions.create",
        "cloudfunctions.functions.sourceCodeSet",
        _ACT,
        ("cloudfunctions.functions.call", "cloudfunctions.functions.setIamPolicy"),
        note="deploy a function running as a chosen account, then call it",
    ),
    _m(
        "gcp-cloudfunctions-update",
        "UpdateCloudFunction",
        _RHINO_1,
        "cloudfunctions.functions.sourceCodeSet",
        "cloudfunctions.functions.update",
        _ACT,
        note="replace the code of a function that runs as a more privileged account",
    ),
    _m(
        "gcp-compute-create",
        "CreateGCEInstanceWithSA",
        _RHINO_1,
        "compute.disks.create",
        "compute.instances.create",
        "compute.instances.setMetadata",
        "compute.instances.setServiceAccount",
        "compute.subnetworks.use",
        _ACT,
        note="start a VM as a chosen account and read its token from the metadata server",
    ),
    _m(
        "gcp-run-create",
        "ExfilCloudRunService",
        _RHINO_1,
        "run.services.create",
        _ACT,
        ("run.routes.invoke", "run.services.setIamPolicy"),
        note="deploy a Cloud Run service running as a chosen account, then call it",
    ),
    _m(
        "gcp-cloudscheduler-create",
        "CreateCloudSchedulerHTTPRequest",
        _RHINO_1,
        "cloudscheduler.jobs.create",
        "cloudscheduler.locations.list",
        _ACT,
        note="schedule authenticated HTTP calls as a chosen account",
    ),
    _m(
        "gcp-dataproc-create",
        "CreateDataprocClusterWithSA",
        _ACT_AS,
        "dataproc.clusters.create",
        _ACT,
        note="cluster VMs run as a chosen account",
    ),
    _m(
        "gcp-dataflow-create",
        "CreateDataflowJobWithSA",
        _ACT_AS,
        "dataflow.jobs.create",
        _ACT,
        note="pipeline workers run as a chosen account",
    ),
    _m(
        "gcp-composer-create",
        "CreateComposerEnvironmentWithSA",
        _ACT_AS,
        "composer.environments.create",
        _ACT,
        note="Airflow workers run as a chosen account",
    ),
    _m(
        "gcp-apikeys-create",
        "CreateAPIKey",
        _RHINO_2,
        "apikeys.keys.create",
        note="API keys outlive the principal's own access and are often over-scoped",
    ),
)
