"""Access level and resource scoping of an Azure operation, derived from its name.

Azure publishes no access levels, so nhictl derives them (the same rules build the shipped
catalog and classify operations first met at run time, e.g. in a custom role):

- ``.../read``: Read. Actions that only query (``list*``, ``get*``, ``check*``, ``query*``,
  ``validate*``, ``export*``, ``search*``) are Read too.
- Actions that hand out a credential which bypasses Azure RBAC or mints one (``listKeys``,
  ``listCredential(s)``, ``listSecrets``, ``listConnectionStrings``, ``regenerateKey``,
  ``publishxml``, ...): **Permissions management**. A storage account key is full control of the
  account's data, an AKS admin credential is cluster-admin, a publish profile deploys code that
  runs as the app's identity: holding one changes who can do what, as ``iam:CreateAccessKey``
  does on AWS (also Permissions management there).
- ``Microsoft.Authorization/*`` writes, deletes and actions (role assignments and definitions,
  policy assignments, locks, elevateAccess): Permissions management. So are assigning a
  user-assigned managed identity (``.../assign/action``, Azure's ``iam:PassRole``) and writing
  its federated identity credentials (who may sign in as it).
- Writes and deletes under ``.../tags``: Tagging. Every other write, delete or action: Write.

An operation can be scoped below a subscription unless it is provider-wide: ``register``,
``unregister``, ``operations``, ``locations/...``, ``checkNameAvailability``.
"""

from __future__ import annotations

import re

from nhictl.creep.catalog import AccessLevel

_CREDENTIAL = re.compile(
    r"^(list\w*(keys?|credentials?|secrets?|connectionstrings?|sas|passwords?|tokens?)"
    r"|regenerate\w*|publishxml|getkeys|getsecrets|resetpassword|listauthkeys)$"
)
_QUERY = ("list", "get", "check", "query", "validate", "export", "search", "preview", "read")
_PROVIDER_WIDE = {
    "register",
    "unregister",
    "operations",
    "locations",
    "checknameavailability",
    "operationresults",
    "operationstatuses",
}


def access_level(name: str, data: bool = False) -> AccessLevel:
    """The access level of an operation (``Microsoft.Compute/virtualMachines/read``)."""
    parts = name.lower().split("/")
    if len(parts) < 2:
        return "Unknown"
    namespace, segments = parts[0], parts[1:]
    verb = segments[-1]
    before = segments[-2] if len(segments) > 1 else ""
    if verb == "read":
        return "Read"
    if verb not in ("write", "delete", "action"):
        return "Unknown"
    if verb == "action" and _CREDENTIAL.match(before) and not data:
        return "Permissions management"
    if not data:
        if namespace == "microsoft.authorization":
            return "Permissions management"
        if namespace == "microsoft.managedidentity" and (
            (verb == "action" and before == "assign") or "federatedidentitycredentials" in segments
        ):
            return "Permissions management"
    if verb == "action" and before.startswith(_QUERY):
        return "Read"
    if "tags" in segments[:-1]:
        return "Tagging"
    return "Write"


def scopable(name: str, data: bool = False) -> bool:
    """True when the operation can be granted below subscription scope."""
    if data:
        return True
    segments = name.lower().split("/")[1:]
    return len(segments) > 1 and segments[0] not in _PROVIDER_WIDE
