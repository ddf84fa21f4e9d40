"""Where the process runs (Lambda, Kubernetes, Docker, CI, local) and the settings each place suggests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

__all__ = ["ENVIRONMENTS", "detect_environment", "environment_overrides"]

Environment = Literal["lambda", "kubernetes", "docker", "ci", "local"]
ENVIRONMENTS: tuple[Environment, ...] = ("lambda", "kubernetes", "docker", "ci", "local")

_OVERRIDES: dict[str, dict[str, Any]] = {
    # Short-lived invocations: small batches, fast flushing, a small queue.
    "lambda": {
        "core": {"log_level": "INFO", "batch_max_size": 10, "batch_timeout_seconds": 0.1, "max_queue_size": 1_000}
    },
    "kubernetes": {"core": {"log_level": "INFO"}},
    "docker": {"core": {"log_level": "INFO"}},
    "ci": {"core": {"log_level": "INFO"}},
    "local": {},
}


def detect_environment() -> Environment:
    """Lambda, then Kubernetes, Docker and CI, else local."""
    env = os.environ
    if env.get("AWS_LAMBDA_FUNCTION_NAME") or env.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda"):
        return "lambda"
    if env.get("KUBERNETES_SERVICE_HOST") or Path("/var/run/secrets/kubernetes.io/serviceaccount").exists():
        return "kubernetes"
    if Path("/.dockerenv").exists():
        return "docker"
    if env.get("CI", "").lower() in ("1", "true", "yes") or env.get("GITHUB_ACTIONS") or env.get("GITLAB_CI"):
        return "ci"
    return "local"


def environment_overrides(name: str) -> dict[str, Any]:
    """The settings suggested for environment ``name``."""
    if name not in _OVERRIDES:
        raise ValueError(f"unknown environment {name!r}; environments: {', '.join(ENVIRONMENTS)}")
    return _OVERRIDES[name]
