"""``audit_gcp``: a folder of gcloud outputs + manifests + options -> a creep ``Report``.

The one entry point the CLI (and Python callers) use, as ``audit_aws`` is for AWS. After the
shared engine has run, three things are put in GCP's terms (the engine's texts and fixes are
AWS-shaped; the numbers are not touched):

- ``priv.admin`` / ``priv.escalation`` evidence gains ``level`` (project, folder, organization,
  service account) and ``bindings`` (role, resource, condition, inherited_from), and
  ``time_bound`` when every binding behind it lapses (``request.time < timestamp(...)``);
- fix texts and sources that name AWS things are reworded (roleArn -> serviceAccount,
  last-accessed -> policy insights, RoleLastUsed -> activity, access key -> user-managed key);
- ``--remediate-out`` proposals become binding operations and a custom role
  (``nhictl.providers.gcp.remediation``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from nhictl.creep.context import Context
from nhictl.creep.effective import Expander
from nhictl.creep.engine import analyse
from nhictl.creep.model import Finding, Report, Snapshot
from nhictl.providers.audit_inputs import AuditInputs
from nhictl.providers.gcp.catalog import GcpCatalog
from nhictl.providers.gcp.knowledge import gcp_knowledge
from nhictl.providers.gcp.manifests import GCP_MANIFESTS, load_declarations
from nhictl.providers.gcp.predefined import catalog_label, refreshed_summary, shipped_summary
from nhictl.providers.gcp.remediation import RoleIndex, gcp_proposal
from nhictl.providers.gcp.rules import binding_evidence
from nhictl.providers.gcp.snapshot import load_snapshot_dir
from nhictl.providers.manifests import declarations_ahead

__all__ = ["GcpAuditInputs", "audit_gcp", "load_declarations"]

NO_USAGE = "no policy insights (insights.json) for this principal's bindings"
_AWS_REASON = "no last-accessed data for this principal"
_REMEDIATION = {
    "inv.unregistered": "Register it (an AgentRegistration with "
    "spec.entitlements.gcp.serviceAccount) or delete it.",
    "inv.orphan-manifest": "Fix the serviceAccount, or retire the manifest if the agent is gone.",
    "priv.escalation": "Remove one permission of each method (usually iam.serviceAccounts.actAs "
    "or an impersonation role on the project), or grant it on a single service account.",
    "cred.stale-key": "Delete the key (or rotate it); prefer attached service accounts or "
    "workload identity federation to keys.",
    "creep.unused-principal": "Confirm with the owner, then disable and delete the service "
    "account (or remove all its bindings).",
    "creep.unused-permission": "Remove or replace the roles behind these permissions; the "
    "least-privilege proposal (--remediate-out) lists the binding changes.",
}
_SOURCES = {"RoleLastUsed": "activity", "last-accessed": "policy-insights"}


GcpAuditInputs = AuditInputs  # the name callers know: GCP needs no input beyond the common ones


def audit_gcp(inputs: AuditInputs, snapshot: Snapshot | None = None) -> Report:
    """Run the audit; ``snapshot`` (already built, e.g. from a bundle) replaces
    ``inputs.snapshot``. A snapshot handed in must have been built with a catalog that is not
    reused for another audit (custom roles join it)."""
    inputs.check(snapshot is not None, "--snapshot DIR (a project folder or their parent)")
    now = inputs.now or datetime.now(UTC)
    with declarations_ahead(inputs.manifests, GCP_MANIFESTS) as declarations:
        knowledge = gcp_knowledge()
        catalog = knowledge.catalog
        assert isinstance(catalog, GcpCatalog)
        if snapshot is None:
            assert inputs.snapshot is not None
            snapshot = load_snapshot_dir(inputs.snapshot, catalog, now)
        decls = declarations()
    baseline = (
        load_snapshot_dir(inputs.baseline, catalog, now, register=False)
        if inputs.baseline
        else None
    )
    opts, exclusions = inputs.engine_options(decls, baseline, now)
    report = analyse(snapshot, knowledge, opts, exclusions)
    ctx = Context(snapshot, knowledge, opts, Expander(catalog), {})
    for f in report.findings:
        _in_gcp_terms(ctx, f)
    for r in report.principals:
        if r.used.get("reason") == _AWS_REASON:
            r.used["reason"] = NO_USAGE
    if report.remediations:
        roles = RoleIndex(catalog)
        report.remediations = {
            pid: gcp_proposal(catalog, snapshot, pid, rem, roles)
            for pid, rem in report.remediations.items()
        }
    report.summary["inputs"]["role_catalog"] = catalog_label(catalog.source)
    report.summary["inputs"]["predefined_roles"] = (
        refreshed_summary(catalog) if catalog.refreshed else shipped_summary(catalog)
    )
    return report


def _in_gcp_terms(ctx: Context, f: Finding) -> None:
    if f.rule_id in ("priv.admin", "priv.escalation") and "bindings" not in f.evidence:
        f.evidence.update(binding_evidence(ctx, f.evidence.get("policies", ())))
    text = _REMEDIATION.get(f.rule_id)
    if text is not None:
        f.remediation = text
    source = f.evidence.get("source")
    if isinstance(source, str) and source in _SOURCES:
        f.evidence["source"] = _SOURCES[source]
    if f.rule_id == "cred.stale-key":
        # The shared rule names the credential by its kind ("active sa key K is stale").
        f.message = f.message.replace("active sa key", "user-managed key")
