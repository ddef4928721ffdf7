"""The access level of a GCP permission, from its name.

GCP publishes no access level per permission (AWS does), so nhictl derives one from the verb,
the last dotted segment of ``service.resource.verb``. The same rule builds the shipped catalog
(``scripts/build_gcp_catalog.py``) and classifies permissions the catalog does not know (custom
roles, newer permissions), so both always agree:

1. **Permissions management**: changes who can do what, or acts as someone else --
   ``*.setIamPolicy``, ``*.{create,update,delete}PolicyBinding``, the impersonation verbs
   (``actAs``, ``getAccessToken``, ``getOpenIdToken``, ``signBlob``, ``signJwt``,
   ``implicitDelegation``), and the named permissions in ``_PERMISSIONS_MANAGEMENT`` (SA key
   and HMAC key creation, custom-role, deny, principal-access-boundary and organization-policy
   writes);
2. **Tagging**: ``createTagBinding``/``deleteTagBinding``, ``setTags``, ``setLabels`` and
   ``resourcemanager.tagValueBindings.{create,delete}``;
3. **List**: verbs starting ``list``, ``search`` or ``enumerate`` (``listTagBindings`` too);
4. **Read**: verbs starting ``get`` (``getIamPolicy`` included), ``read``, ``view``,
   ``download``, ``query``, ``fetch``, ``lookup``, ``batchGet``, ``describe``, ``retrieve``,
   ``show``, ``watch``;
5. **Write**: every other verb (create, update, delete, patch, use, run, deploy, ...).
"""

from __future__ import annotations

from nhictl.creep.catalog import AccessLevel

_PM_VERBS = frozenset(
    {
        "setIamPolicy",
        "createPolicyBinding",
        "updatePolicyBinding",
        "deletePolicyBinding",
        "actAs",
        "getAccessToken",
        "getOpenIdToken",
        "signBlob",
        "signJwt",
        "implicitDelegation",
    }
)
_PERMISSIONS_MANAGEMENT = frozenset(
    {
        "iam.serviceAccountKeys.create",
        "iam.serviceAccountKeys.upload",
        "storage.hmacKeys.create",
        "iam.roles.create",
        "iam.roles.update",
        "iam.roles.delete",
        "iam.roles.undelete",
        "iam.denypolicies.create",
        "iam.denypolicies.update",
        "iam.denypolicies.delete",
        "iam.principalaccessboundarypolicies.create",
        "iam.principalaccessboundarypolicies.update",
        "iam.principalaccessboundarypolicies.delete",
        "iam.principalaccessboundarypolicies.bind",
        "iam.principalaccessboundarypolicies.unbind",
        "orgpolicy.policy.set",
        "orgpolicy.policies.create",
        "orgpolicy.policies.update",
        "orgpolicy.policies.delete",
    }
)
_TAGGING_VERBS = frozenset({"createTagBinding", "deleteTagBinding", "setTags", "setLabels"})
_TAGGING = frozenset(
    {"resourcemanager.tagValueBindings.create", "resourcemanager.tagValueBindings.delete"}
)
_LIST_PREFIXES = ("list", "search", "enumerate")
_READ_PREFIXES = (
    "get",
    "read",
    "view",
    "download",
    "query",
    "fetch",
    "lookup",
    "batchGet",
    "describe",
    "retrieve",
    "show",
    "watch",
)


def level_of(permission: str) -> AccessLevel:
    """The access level of one permission (see the module docstring for the rule)."""
    verb = permission.rsplit(".", 1)[-1]
    if verb in _PM_VERBS or permission in _PERMISSIONS_MANAGEMENT:
        return "Permissions management"
    if verb in _TAGGING_VERBS or permission in _TAGGING:
        return "Tagging"
    if verb.startswith(_LIST_PREFIXES):
        return "List"
    if verb.startswith(_READ_PREFIXES):
        return "Read"
    return "Write"


def service_of(permission: str) -> str:
    """The service of a permission: its first dotted segment (``compute.instances.get``)."""
    return permission.split(".", 1)[0].lower()
