"""Finding and reading the raw gcloud outputs of one or several project folders.

Layout of a project folder (each file exactly as the named command writes it with
``--format=json``; docs/audit-creep.md lists the commands):

    project.json                  gcloud projects describe P
    iam-policy.json               gcloud projects get-iam-policy P      (policy version 3)
    ancestors/folder-<id>.json    gcloud resource-manager folders get-iam-policy <id>   optional
    ancestors/organization-<id>.json  gcloud organizations get-iam-policy <id>          optional
    service-accounts.json         gcloud iam service-accounts list --project P
    keys/<sa-email>.json          gcloud iam service-accounts keys list --iam-account E
    sa-policies/<sa-email>.json   gcloud iam service-accounts get-iam-policy E
    custom-roles.json             a JSON list of `gcloud iam roles describe` outputs
    insights.json, sa-insights.json, activity.json, key-activity.json   optional usage

``--snapshot`` is such a folder, or a parent holding several of them side by side. Reading
stops at the first malformed file with one line naming the file and the JSON path; the parsed
documents are kept as they are, so an nhictl bundle carrying the same documents can feed the
same builder (``nhictl.providers.gcp.snapshot.build_snapshot``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name
from nhictl.providers.jsonio import read_json_documents

MARKER = "iam-policy.json"
USAGE_FILES = ("insights.json", "sa-insights.json", "activity.json", "key-activity.json")


@dataclass(slots=True)
class Doc:
    """One parsed file and the name errors give it."""

    data: Any
    source: str


@dataclass(slots=True)
class ProjectInputs:
    """Every document of one project folder (None / empty: the file was not there)."""

    folder: str
    project: Doc | None
    iam_policy: Doc
    service_accounts: Doc | None = None
    custom_roles: Doc | None = None
    ancestors: list[tuple[str, Doc]] = field(default_factory=list)  # (folders/N, doc)
    keys: dict[str, Doc] = field(default_factory=dict)  # SA e-mail -> keys list
    sa_policies: dict[str, Doc] = field(default_factory=dict)  # SA e-mail -> policy
    usage: dict[str, Doc] = field(default_factory=dict)  # file name -> doc
    keys_dir: bool = False  # keys/ exists (an SA without a file there has no key)
    sa_policies_dir: bool = False


def project_folders(path: Path) -> list[Path]:
    """``path`` itself when it is a project folder, else its project subfolders."""
    name = display_name(path)
    if not path.exists():
        raise InputError(f"{name}: no such directory")
    if not path.is_dir():
        raise InputError(
            f"{name}: expected a directory of gcloud outputs (a project folder holding "
            f"{MARKER}, or a folder of such project folders)"
        )
    if (path / MARKER).is_file() or (path / "project.json").is_file():
        return [path]
    found = sorted(p for p in path.iterdir() if p.is_dir() and (p / MARKER).is_file())
    if not found:
        raise InputError(f"{name}: no project folder: neither it nor a subfolder has {MARKER}")
    return found


def read_doc(path: Path) -> Doc:
    """One JSON document (several concatenated ones are refused: gcloud writes one)."""
    docs = read_json_documents(path)
    name = display_name(path)
    if len(docs) != 1:
        raise InputError(f"{name}: expected one JSON document, found {len(docs)}")
    return Doc(docs[0], name)


def _optional(path: Path) -> Doc | None:
    return read_doc(path) if path.is_file() else None


def _per_account(folder: Path) -> dict[str, Doc]:
    """``<sa-email>.json`` files of a folder, keyed by the (lowercase) e-mail."""
    out: dict[str, Doc] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix != ".json" or not f.is_file():
            continue
        email = f.stem.lower()
        if "@" not in email:
            raise InputError(f"{display_name(f)}: file name is not a service-account e-mail")
        out[email] = read_doc(f)
    return out


def read_project(folder: Path) -> ProjectInputs:
    """Read every file of one project folder."""
    policy = folder / MARKER
    if not policy.is_file():
        raise InputError(f"{display_name(folder)}: no {MARKER} (gcloud projects get-iam-policy)")
    out = ProjectInputs(
        folder=display_name(folder),
        project=_optional(folder / "project.json"),
        iam_policy=read_doc(policy),
        service_accounts=_optional(folder / "service-accounts.json"),
        custom_roles=_optional(folder / "custom-roles.json"),
    )
    anc = folder / "ancestors"
    if anc.is_dir():
        for f in sorted(anc.glob("*.json")):
            kind, _, ident = f.stem.partition("-")
            if kind not in ("folder", "organization") or not ident:
                raise InputError(
                    f"{display_name(f)}: expected ancestors/folder-<id>.json or "
                    "ancestors/organization-<id>.json"
                )
            out.ancestors.append((f"{kind}s/{ident}", read_doc(f)))
    if (folder / "keys").is_dir():
        out.keys_dir = True
        out.keys = _per_account(folder / "keys")
    if (folder / "sa-policies").is_dir():
        out.sa_policies_dir = True
        out.sa_policies = _per_account(folder / "sa-policies")
    for name in USAGE_FILES:
        doc = _optional(folder / name)
        if doc is not None:
            out.usage[name] = doc
    return out


def read_snapshot_dir(path: Path) -> list[ProjectInputs]:
    """Every project folder under ``path`` (see ``project_folders``), read."""
    return [read_project(f) for f in project_folders(path)]
