"""Builds every stack of an environment and writes the files atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tap_cfn.config import Deployment
from tap_cfn.naming import logical_id
from tap_cfn.render import render
from tap_cfn.stacks import cluster, data, loadbalancer, network, root, security, service
from tap_cfn.stacks.root import Child

ROOT_STEM = "root"


def children(dep: Deployment) -> list[Child]:
    """The child stacks in deployment order (the order carries no meaning to CloudFormation)."""
    fixed = [
        Child("network", "NetworkStack", network.build(dep)),
        Child("security", "SecurityStack", security.build(dep)),
        Child("data", "DataStack", data.build(dep)),
        Child("loadbalancer", "LoadBalancerStack", loadbalancer.build(dep)),
        Child("cluster", "ClusterStack", cluster.build(dep)),
    ]
    services = [
        Child(f"service-{svc.name}", f"{logical_id(svc.name)}ServiceStack", service.build(dep, svc))
        for svc in dep.services
    ]
    return fixed + services


def render_environment(dep: Deployment, formats: Iterable[str]) -> dict[str, str]:
    """File name -> content for one environment: root.<fmt> plus <stem>.<fmt> per child."""
    kids = children(dep)
    files = {}
    for fmt in formats:
        files[f"{ROOT_STEM}.{fmt}"] = render(root.build(dep, kids, fmt), fmt)
        for child in kids:
            files[f"{child.stem}.{fmt}"] = render(child.template, fmt)
    return files


def write(out_dir: Path, files: dict[str, dict[str, str]]) -> None:
    """Write {env: {name: text}} under out_dir/<env>/. Everything is written to a temporary
    folder first, then moved into place file by file, so a failed run leaves out_dir as it was.
    Generated files of an environment that are no longer produced are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tap-cfn-", dir=out_dir))
    try:
        for env, env_files in files.items():
            (staging / env).mkdir()
            for name, text in env_files.items():
                (staging / env / name).write_text(text, encoding="utf-8")
        for env, env_files in files.items():
            target = out_dir / env
            target.mkdir(exist_ok=True)
            for stale in target.glob("*"):
                if stale.suffix in {".json", ".yaml"} and stale.name not in env_files:
                    stale.unlink()
            for name in env_files:
                os.replace(staging / env / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
