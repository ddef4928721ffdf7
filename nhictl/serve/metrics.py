"""Prometheus metrics of the service (prometheus_client, imported only by serve).

Under ``nhictl serve`` every worker writes its samples to files in the run's shared folder
(``PROMETHEUS_MULTIPROC_DIR``, set before the workers start) and ``text()`` adds up all the
workers' files, so a scrape sees the whole service whichever worker answers it. A service
built in-process (no such folder) reports its own counts.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nhictl_serve_requests",
            "HTTP requests by endpoint and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "nhictl_serve_decisions",
            "Decisions by endpoint and outcome (issued, denied, active, inactive, revoked...).",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nhictl_serve_request_seconds",
            "Request latency by endpoint.",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        #: Labelled children by (metric, labels): ``labels()`` costs more than the increment
        #: itself. Every label comes from a short fixed list, so this stays small.
        self._children: dict[tuple[Counter | Histogram, tuple[str, ...]], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self._child(self.requests, endpoint, str(status)).inc()
        self._child(self.latency, endpoint).observe(seconds)

    def decision(self, endpoint: str, outcome: str) -> None:
        self._child(self.decisions, endpoint, outcome).inc()

    def text(self) -> bytes:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)
