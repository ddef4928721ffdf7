"""The manifest loader every provider shares: one by one and through the forked worker agree, for
each provider's reader, on the declarations and on which error wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.creep.model import Declaration
from nhictl.providers.azure.manifests import AZURE_MANIFESTS
from nhictl.providers.gcp.manifests import GCP_MANIFESTS
from nhictl.providers.manifests import (
    ManifestJobs,
    ManifestReader,
    agent_name,
    declarations_ahead,
    entitlements,
)

GCP = """kind: AgentRegistration
metadata: {name: a-NAME}
spec:
  entitlements:
    gcp:
      serviceAccount: NAME@p.iam.gserviceaccount.com
      roles: [roles/viewer]
"""

AZURE = """kind: AgentRegistration
metadata: {name: a-NAME}
spec:
  entitlements:
    azure:
      principalId: 00000000-0000-0000-0000-NAME
      roles: [Reader]
"""


def _many(tmp_path: Path, text: str, n: int = 250) -> list[str]:
    for i in range(n):
        (tmp_path / f"m{i:03d}.yaml").write_text(text.replace("NAME", f"{i:012d}"))
    return [str(tmp_path)]


def _worker(paths: list[str], reader: ManifestReader) -> list[Declaration]:
    jobs = ManifestJobs.start(paths, reader)
    assert jobs is not None  # 250 files: a worker
    try:
        return jobs.result()
    finally:
        jobs.close()


@pytest.mark.parametrize(("reader", "text"), [(GCP_MANIFESTS, GCP), (AZURE_MANIFESTS, AZURE)])
def test_the_worker_gives_what_reading_one_by_one_gives(
    tmp_path: Path, reader: ManifestReader, text: str
) -> None:
    paths = _many(tmp_path, text)
    decls = _worker(paths, reader)
    assert decls == reader.load(paths)
    assert [d.manifest for d in decls] == [f"a-{i:012d}" for i in range(250)]
    with declarations_ahead(paths, reader) as ahead:
        assert ahead() == decls


def test_gcp_reports_the_first_problem_in_file_order(tmp_path: Path) -> None:
    paths = _many(tmp_path, GCP)
    (tmp_path / "m249.yaml").write_text("kind: [unclosed\n")  # last chunk: does not parse
    (tmp_path / "m010.yaml").write_text(GCP.replace("NAME@", "x-"))  # first chunk: bad account
    for read in (GCP_MANIFESTS.load, lambda p: _worker(p, GCP_MANIFESTS)):
        with pytest.raises(InputError, match=r"m010\.yaml: \$\.spec\.entitlements\.gcp\."):
            read(paths)


def test_azure_reports_a_file_that_does_not_parse_first(tmp_path: Path) -> None:
    paths = _many(tmp_path, AZURE)
    (tmp_path / "m249.yaml").write_text("kind: [unclosed\n")
    (tmp_path / "m010.yaml").write_text(AZURE.replace("00000000-0000-0000-0000-NAME", '" "'))
    for read in (AZURE_MANIFESTS.load, lambda p: _worker(p, AZURE_MANIFESTS)):
        with pytest.raises(InputError, match=r"m249\.yaml"):
            read(paths)


def test_few_or_no_manifests_are_read_here(tmp_path: Path) -> None:
    paths = _many(tmp_path, GCP, 3)
    assert ManifestJobs.start(paths, GCP_MANIFESTS) is None
    with declarations_ahead(paths, GCP_MANIFESTS) as ahead:
        assert len(ahead()) == 3
    with declarations_ahead([], GCP_MANIFESTS) as ahead:
        assert ahead() == []


def test_entitlements_and_name() -> None:
    doc = {"kind": "AgentRegistration", "spec": {"entitlements": {"gcp": {"x": 1}, "aws": 3}}}
    assert entitlements(doc, "gcp") == {"x": 1}
    assert entitlements(doc, "aws") is None  # not a mapping
    assert entitlements(doc, "azure") is None
    assert entitlements({**doc, "kind": "Other"}, "gcp") is None
    assert agent_name({"metadata": {"name": "a"}}, "p") == "a"
    assert agent_name({"metadata": {"name": ""}}, "p") == "p"
    assert agent_name({}, "p") == "p"
