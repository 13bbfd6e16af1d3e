"""Helpers shared by the integration tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest
from kubernetes.client.rest import ApiException

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "lab" / "cluster"
CHARTS = REPO / "tests" / "charts"


def run_cluster(*args: str, env: dict | None = None, timeout: float = 7200):
    """Run lab/cluster with the given arguments; return the CompletedProcess."""
    return subprocess.run(
        [str(CLUSTER_SCRIPT), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 60,
    interval: float = 0.5,
    what: str = "",
):
    """Poll predicate until it returns something truthy; return that value or fail."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except ApiException as exc:
            last_error = exc
            value = None
        if value:
            return value
        time.sleep(interval)
    pytest.fail(
        f"timed out after {timeout} s waiting for {what or predicate}"
        + (f" (last error: {last_error})" if last_error else "")
    )
