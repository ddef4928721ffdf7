"""Azure privilege-escalation methods for service principals and managed identities.

Each method lists the operations it needs (every group needs one of its operations); a
principal holding all of them -- across any number of its role assignments -- can escalate.
Methods marked "needs a target" work only where a more privileged identity or workload exists
within reach (a user-assigned identity, a VM or web app running as one); nhictl reports them
naming the operation, until reachability is modelled. Graph permissions that add credentials to
applications (``Application.ReadWrite.All`` ...) are not in the offline inputs
(``az ad sp list`` does not list app role assignments), so they are not judged.
"""

from __future__ import annotations

from nhictl.creep.knowledge import EscalationMethod

_RBAC = "https://learn.microsoft.com/en-us/azure/role-based-access-control/"

METHODS: tuple[EscalationMethod, ...] = (
    EscalationMethod(
        "azure-role-assignment-write",
        "RoleAssignmentWrite",
        (("Microsoft.Authorization/roleAssignments/write",),),
        _RBAC + "role-assignments-rest",
        "assign any role (Owner included) to itself at the scope it holds this on",
    ),
    EscalationMethod(
        "azure-role-definition-write",
        "RoleDefinitionWrite",
        (("Microsoft.Authorization/roleDefinitions/write",),),
        _RBAC + "custom-roles-rest",
        "widen a custom role it is assigned (add actions '*')",
    ),
    EscalationMethod(
        "azure-mi-assign-vm",
        "AssignManagedIdentityToVm",
        (
            ("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",),
            (
                "Microsoft.Compute/virtualMachines/write",
                "Microsoft.Compute/virtualMachineScaleSets/write",
            ),
        ),
        "https://learn.microsoft.com/cli/azure/vm/identity",
        "needs a target: attach a more privileged user-assigned identity to a VM and use its "
        "tokens",
    ),
    EscalationMethod(
        "azure-mi-federated-credential",
        "AddFederatedCredentialToManagedIdentity",
        (("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",),),
        "https://learn.microsoft.com/en-us/cli/azure/identity/federated-credential",
        "needs a target: trust an issuer it controls and sign in as a more privileged "
        "user-assigned identity",
    ),
    EscalationMethod(
        "azure-vm-run-command",
        "VmRunCommand",
        (
            (
                "Microsoft.Compute/virtualMachines/runCommand/action",
                "Microsoft.Compute/virtualMachines/runCommands/write",
            ),
        ),
        "https://learn.microsoft.com/rest/api/compute/virtual-machines/run-command",
        "needs a target: run code on a VM and take the tokens of its managed identity",
    ),
    EscalationMethod(
        "azure-web-publishxml",
        "WebAppPublishProfile",
        (("Microsoft.Web/sites/publishxml/action",),),
        "https://learn.microsoft.com/en-in/dotnet/api/azure.resourcemanager.appservice."
        "websiteresource.getpublishingprofilexmlwithsecrets?view=azure-dotnet",
        "needs a target: download the publish profile, deploy code that runs as the app's "
        "managed identity",
    ),
)

# Operations nhictl names (methods above, the admin rule) that exist in Azure whether or not the
# shipped operation list has them: the catalog learns them so wildcards reach them.
KNOWN_OPERATIONS: tuple[str, ...] = (
    *sorted({a for m in METHODS for group in m.requires for a in group}),
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/roleDefinitions/delete",
    "Microsoft.Authorization/locks/write",
    "Microsoft.Authorization/locks/delete",
    "Microsoft.Authorization/policyAssignments/write",
    "Microsoft.Authorization/elevateAccess/action",
)
