"""Prometheus metrics: requests and latency by route and status, decisions by door, gallery size."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

disable_created_metrics()  # no *_created series: they double the output and say little

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The service's metrics in a registry of their own (one per app)."""

    def __init__(self, people: Callable[[], int], vectors: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "facegate_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "facegate_http_request_duration_seconds",
            "Time from request to the end of the response, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "facegate_decisions",
            "Access decisions made through the API, by door, mode and decision.",
            ["door", "mode", "decision"],
            registry=self.registry,
        )
        people_gauge = Gauge("facegate_gallery_people", "Enrolled people.", registry=self.registry)
        people_gauge.set_function(people)
        vectors_gauge = Gauge(
            "facegate_gallery_vectors",
            "Stored vectors of the embedder in use.",
            registry=self.registry,
        )
        vectors_gauge.set_function(vectors)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def decision(self, door: str, mode: str, decision: str) -> None:
        """Count one access decision."""
        self.decisions.labels(door, mode, decision).inc()

    def render(self) -> bytes:
        """Return every metric in the Prometheus text format."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.request(route, scope["method"], status, time.perf_counter() - started)
