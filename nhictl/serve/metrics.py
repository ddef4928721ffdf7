"""Prometheus metrics for one worker process (prometheus_client, imported only by serve)."""

from __future__ import annotations

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

    def decision(self, endpoint: str, outcome: str) -> None:
        self.decisions.labels(endpoint, outcome).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)
