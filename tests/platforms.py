"""Valid platform configs of any size, for the scale, topology and property tests, and their rendering."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tap_cfn import config as cfg
from tap_cfn import generator

DEFAULT = yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text())


def platform(count: int) -> dict[str, Any]:
    """`count` services: a default web service, then ALB path services and internal workers,
    each worker called by the service declared before it."""
    raw = copy.deepcopy(DEFAULT)
    services: list[dict[str, Any]] = [
        {"name": "web", "port": 3000, "cpu": 256, "memory": 512, "route": {"type": "alb", "default": True}}
    ]
    for i in range(1, count):
        if i % 3 == 0:
            services.append(
                {
                    "name": f"worker-{i}",
                    "port": 9000,
                    "cpu": 512,
                    "memory": 1024,
                    "route": {"type": "internal"},
                    "health_check": {"command": ["CMD-SHELL", "curl -fs http://localhost:9000/ || exit 1"]},
                    "callers": [services[-1]["name"]],
                    "secrets": {"DB": "db-credentials"},
                }
            )
        else:
            services.append(
                {
                    "name": f"api-{i}",
                    "port": 8080,
                    "cpu": 256,
                    "memory": 512,
                    "health_check_path": "/health",
                    "route": {"type": "alb", "path": f"/api-{i}/*"},
                }
            )
    raw["services"] = services
    return raw


def render(raw: dict, env: str = "prod", formats: tuple[str, ...] = ("json", "yaml")) -> dict[str, str]:
    """`raw` generated for `env`: file name -> text."""
    return generator.render_environment(cfg.Deployment(cfg.parse(raw, "platform.yaml"), env), formats)
