"""Builds every stack of an environment and writes the files atomically."""

from __future__ import annotations

import gc
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tap_cfn.config import Config, Deployment, Service
from tap_cfn.conventions import DIAGRAM_FILES, REGISTRY, ROOT_STEM, TEMPLATE_SUFFIXES, root_file
from tap_cfn.naming import logical_id
from tap_cfn.render import FORMATS, as_dict, files
from tap_cfn.stacks import (
    cluster,
    data,
    flowlogs,
    loadbalancer,
    monitoring,
    network,
    notifications,
    registry,
    root,
    security,
    service,
)
from tap_cfn.stacks.nesting import Child, groups, leaves, templates_below
from tap_cfn.topology import Part, service_groups

# Tasks pull their images through the egress part of the network stack (NAT or VPC endpoints), so
# a service must not start before that stack completes. Every service takes values from it anyway;
# the nesting adds a DependsOn only where none is taken.
NETWORK = "NetworkStack"
# What `generate.py diagram` drew from an environment's templates.
_DRAWING = re.compile(DIAGRAM_FILES)


def children(dep: Deployment) -> list[Child]:
    """The root's children. Only the network stack is on the services' chain (plus data, cluster
    and notifications beside it): it holds the VPC, the egress (NAT or endpoints) and the load
    balancer, whose slow parts it creates side by side; the flow logs and monitoring run beside
    the services, and nothing waits for those two.

    A platform of one group (up to topology.GROUP_SIZE services) has one data stack, and its
    security groups and target groups in the network stack; a larger one keeps the platform-wide
    resources in those and gives each group of services a `services-<k>` stack holding its own
    parts (security groups, target groups and listener rules included)."""
    grouped = service_groups(dep)
    single = len(grouped) == 1
    shared = Part.whole(dep) if single else Part((), shared=True, group=0)
    platform = [
        Child("network", NETWORK, network.build(dep, shared)),
        Child("flowlogs", "FlowLogStack", flowlogs.build(dep)),
        Child("data", "DataStack", data.build(dep, shared)),
        Child("cluster", "ClusterStack", cluster.build(dep)),
        Child("notifications", "NotificationsStack", notifications.build(dep)),
        Child("monitoring", "MonitoringStack", monitoring.build(dep)),
    ]
    if single:
        return [*platform, *(_service(dep, svc, after=(NETWORK,)) for svc in dep.services)]
    return platform + [_group(dep, index, members) for index, members in enumerate(grouped, start=1)]


def _service(dep: Deployment, svc: Service, after: tuple[str, ...] = ()) -> Child:
    stem, logical = f"service-{svc.name}", f"{logical_id(svc.name)}ServiceStack"
    return Child(stem, logical, service.build(dep, svc), after=after)


def _group(dep: Deployment, index: int, members: list[Service]) -> Child:
    part = Part(tuple(s.name for s in members), shared=False, group=index)
    parts = [
        Child(f"security-{index}", "SecurityStack", security.build(dep, part)),
        Child(f"data-{index}", "DataStack", data.build(dep, part)),
    ]
    rules = loadbalancer.build(dep, part)
    if rules.resources:  # a group may have no ALB services besides the default one
        parts.append(Child(f"loadbalancer-{index}", "LoadBalancerStack", rules))
    services = [_service(dep, svc) for svc in members]
    return Child(f"services-{index}", f"Services{index}Stack", children=(*parts, *services), after=(NETWORK,))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Building and rendering allocate objects by the hundred thousand (troposphere objects, dicts,
    YAML nodes) and free them by reference counting; the cyclic collector, run every few hundred
    allocations over everything alive, took two thirds of the time. Paused here, it catches up after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_environment(dep: Deployment) -> dict[str, dict[str, Any]]:
    """Every stack of one environment as a template dict, by stem: the root, the groups, the leaves.
    The one path from a config to templates: the writer, the scan, cost, docs and tests read it."""
    with _no_cycle_collection():
        return _build(dep)


def _build(dep: Deployment) -> dict[str, dict[str, Any]]:
    kids = children(dep)
    built = templates_below(dep, kids)
    stacks = {ROOT_STEM: as_dict(root.build(dep, kids, built))}
    stacks.update((group.stem, as_dict(built[group.stem])) for group in groups(kids))
    stacks.update((leaf.stem, as_dict(built[leaf.stem])) for leaf in leaves(kids))
    return stacks


def render_environment(dep: Deployment, formats: Iterable[str]) -> dict[str, str]:
    """File name -> content for one environment: root.<fmt>, and <stem>.<fmt> per nested stack."""
    with _no_cycle_collection():
        return files(_build(dep), formats)


def render_registry(config: Config, formats: Iterable[str]) -> dict[str, str]:
    """The project's registry stack: registry.<fmt>, written to <out>/registry/ beside the profiles."""
    with _no_cycle_collection():
        return files({REGISTRY: as_dict(registry.build(config))}, formats)


def write(out_dir: Path, files: dict[str, dict[str, str]], prune: bool = False) -> None:
    """Write {env: {name: text}} under out_dir/<env>/ so that out_dir then describes these
    templates and no others. Everything is written to a temporary folder first, then moved into
    place file by file, so a failed run leaves out_dir as it was. A file that already holds its
    text is left alone (creating files is most of a rerun's system time).

    In an environment's folder, generated templates no longer produced are removed, and when any
    template changed, its drawings too (they show the old ones; `generate.py diagram` draws them
    again), except the SVGs: only Graphviz draws those, and a change that leaves the drawing as
    it was (a threshold, a tag) must not lose them where Graphviz is missing. `diagram` keeps an
    SVG only when it was drawn from the DOT text it draws, and removes it otherwise.

    With `prune` (`files` holds every environment of the config), every other folder holding a
    root template loses its generated files, and goes if nothing else is left in it. Only files
    whose names are ours are removed (conventions.TEMPLATE_SUFFIXES, DIAGRAM_FILES)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = {
        env: {name: text for name, text in env_files.items() if not _holds(out_dir / env / name, text)}
        for env, env_files in files.items()
    }
    stale = _stale(out_dir, files, changed, prune)
    staging = Path(tempfile.mkdtemp(prefix=".tap-cfn-", dir=out_dir))
    try:
        for env, env_files in changed.items():
            (staging / env).mkdir()
            for name, text in env_files.items():
                (staging / env / name).write_text(text, encoding="utf-8")
        for env in files:
            target = out_dir / env
            target.mkdir(exist_ok=True)
            for name in changed[env]:
                os.replace(staging / env / name, target / name)
        for path in stale:
            path.unlink(missing_ok=True)
        for folder in sorted({path.parent for path in stale} - {out_dir / env for env in files}):
            with suppress(OSError):  # a file of the user's keeps the folder
                folder.rmdir()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stale(
    out_dir: Path, files: dict[str, dict[str, str]], changed: dict[str, dict[str, str]], prune: bool
) -> list[Path]:
    """The generated files under out_dir that writing `files` leaves describing something else."""
    stale: list[Path] = []
    for env, env_files in files.items():
        ours = _ours(out_dir / env)
        gone = [p for p in ours if p.suffix in TEMPLATE_SUFFIXES and p.name not in env_files]
        stale += gone
        if changed[env] or gone:  # SVGs stay for `diagram` to judge: see write()
            stale += [p for p in ours if _DRAWING.fullmatch(p.name) and p.suffix != ".svg"]
    if prune:
        for folder in sorted(p for p in out_dir.iterdir() if p.is_dir() and p.name not in files):
            if folder.name != REGISTRY and any((folder / root_file(fmt)).is_file() for fmt in FORMATS):
                stale += _ours(folder)
    return stale


def _ours(folder: Path) -> list[Path]:
    """The files in `folder` whose names are those of generated files (none when it is missing)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and (p.suffix in TEMPLATE_SUFFIXES or _DRAWING.fullmatch(p.name))
    )


def _holds(path: Path, text: str) -> bool:
    """Whether `path` holds exactly the bytes `write_text(text)` would write."""
    try:
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False
