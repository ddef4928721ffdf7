"""An AWS raw-output folder (``--snapshot DIR``, ``--snapshot-dir DIR/aws``): which file is which.

The folder holds either an nhictl bundle (``bundle.json``, from ``nhictl collect aws``) or the
AWS CLI exports: ``authorization-details.json`` (``aws iam get-account-authorization-details``),
optionally ``last-accessed.json`` or a ``last-accessed/`` folder of
GetServiceLastAccessedDetails responses, and ``access-keys.json``. Beside either, the resource
listings (``lambda-functions.json``... ``nhictl.providers.aws.resources.RESOURCE_FILES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nhictl.core.errors import InputError
from nhictl.providers.aws.resources import resource_files_in

BUNDLE = "bundle.json"
EXPORT = "authorization-details.json"
LAST_ACCESSED = ("last-accessed.json", "last-accessed")
ACCESS_KEYS = "access-keys.json"


@dataclass(frozen=True, slots=True)
class AwsFolder:
    snapshot: Path
    last_accessed: Path | None = None
    access_keys: Path | None = None
    resources: Path | None = None  # the folder, when it holds resource listings


def aws_folder(folder: Path) -> AwsFolder:
    """The inputs an AWS folder holds; a folder with neither a bundle nor an export is an error."""
    bundle, export = folder / BUNDLE, folder / EXPORT
    if bundle.is_file() and export.is_file():
        raise InputError(f"{folder}: holds both {BUNDLE} and {EXPORT}; keep one")
    resources = folder if resource_files_in(folder) else None
    if bundle.is_file():
        return AwsFolder(bundle, resources=resources)
    if not export.is_file():
        raise InputError(
            f"{folder}: no {BUNDLE} (nhictl collect aws) or {EXPORT} "
            "(aws iam get-account-authorization-details) in this folder"
        )
    usage = next((folder / n for n in LAST_ACCESSED if (folder / n).exists()), None)
    keys = folder / ACCESS_KEYS
    return AwsFolder(export, usage, keys if keys.is_file() else None, resources)
