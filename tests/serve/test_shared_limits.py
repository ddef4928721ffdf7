"""One service, two worker processes, one set of limits and one set of metrics: a caller whose
connections land on different workers still gets one burst, and every scrape of ``/metrics``
counts the requests both workers answered. The run's shared folder is private and removed when
the service stops."""

from __future__ import annotations

import glob
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator

import pytest

from tests.serve.conftest import Service, launch


@pytest.fixture(scope="module")
def two_workers_limited(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    """Two workers; 4 requests a minute per address: a burst of 1, one more every 15 s."""
    yield from launch(
        tmp_path_factory.mktemp("shared"),
        request,
        backend,
        args=("--workers", "2", "--rate-per-address", "4"),
    )


def fresh_connection_get(service: Service, path: str) -> int:
    """One request on a connection of its own, so the kernel may hand it to either worker."""
    with service.client() as http:
        return http.get(path).status_code


def test_an_address_gets_one_burst_across_both_workers(two_workers_limited: Service) -> None:
    time.sleep(15)  # the start-up health checks spent the burst: let one token come back
    began = time.monotonic()
    codes = [fresh_connection_get(two_workers_limited, "/jwks") for _ in range(16)]
    elapsed = time.monotonic() - began
    # Per-worker buckets would let up to 2 through (one burst per worker).
    assert codes.count(200) <= 1 + int(elapsed // 15), codes
    assert codes.count(429) >= 15 - int(elapsed // 15)


def requests_counted(text: str, endpoint: str) -> float:
    labels = rf'endpoint="{re.escape(endpoint)}",status="200"'
    pattern = rf"^nhictl_serve_requests_total\{{{labels}\}} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    yield from launch(tmp_path_factory.mktemp("metrics"), request, backend, args=("--workers", "2"))


def scrape(service: Service) -> str:
    with service.client() as http:
        reply = http.get("/metrics")
    assert reply.status_code == 200
    return reply.text


def test_every_scrape_counts_both_workers_requests(two_workers: Service) -> None:
    before = requests_counted(scrape(two_workers), "/healthz")
    for _ in range(20):
        assert fresh_connection_get(two_workers, "/healthz") == 200
    # Four scrapes on connections of their own: whichever worker answers, the same total.
    totals = {requests_counted(scrape(two_workers), "/healthz") for _ in range(4)}
    assert totals == {before + 20}


def test_the_shared_folder_is_private_and_removed_at_stop(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> None:
    pattern = os.path.join(tempfile.gettempdir(), "nhictl-serve-*")
    earlier = set(glob.glob(pattern))
    running = launch(tmp_path_factory.mktemp("folder"), request, backend)
    next(running)
    try:
        made = set(glob.glob(pattern)) - earlier
        assert len(made) == 1
        folder = made.pop()
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert sorted(os.listdir(folder)) == ["metrics", "rate-per-address", "rate-per-identity"]
    finally:
        running.close()  # stops the service
    assert not os.path.exists(folder)
