"""The lint gate: cfn-lint, through its Python API, informational rules and our rules included.

Every caller (the `lint` command, `make templates`, the tests) goes through `lint()`, which
- lints a JSON/YAML twin pair once when both decode to the same data (cfn-lint's own decoders),
  and the YAML file too only when the JSON one has findings (so they name the YAML lines);
- keeps the findings of each template in a content-hash cache across runs
  (`.cache/tap-cfn-lint/`, or $TAP_CFN_LINT_CACHE; `off` disables it), keyed on the template's
  bytes and format, the cfn-lint version, the lint settings and every file under tap_cfn/rules/;
- lints the rest in parallel, a process per core ($TAP_CFN_LINT_JOBS), in a pool kept for the
  life of the process, each worker loading cfn-lint's rules once.

Imported only by the `lint` command and the tests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

# cfn-lint itself (a second to import) is imported only when a template is not in the cache.
CFN_LINT_VERSION = version("cfn-lint")

# Nothing in the templates is region-specific (AZs come from Fn::GetAZs); two regions of
# different geographies catch a resource type or property one of them lacks.
REGIONS = ["us-east-1", "eu-west-1"]
INCLUDE_CHECKS = ["I"]
# Our own rules (tap_cfn/rules/, one AWS fact per file) run beside cfn-lint's, as in .cfnlintrc;
# named as a module so that cfn-lint imports them (and this module does not).
RULES_MODULE = "tap_cfn.rules"
RULES_DIR = Path(__file__).resolve().parent / "rules"
CACHE_ENV = "TAP_CFN_LINT_CACHE"
DEFAULT_CACHE = Path(".cache") / "tap-cfn-lint"

Finding = tuple[int, int, str, str]  # line, column, rule id, message


def settings() -> dict[str, Any]:
    """The cfn-lint settings every lint uses (and the cache key includes)."""
    return {"include_checks": INCLUDE_CHECKS, "regions": REGIONS, "append_rules": [RULES_MODULE]}


@cache
def _settings_digest() -> str:
    """cfn-lint version, settings and the bytes of every custom-rule file, hashed once per process."""
    digest = hashlib.sha256(CFN_LINT_VERSION.encode())
    digest.update(json.dumps(settings(), sort_keys=True).encode())
    for path in sorted(p for p in RULES_DIR.rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(RULES_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(path: Path) -> str:
    digest = hashlib.sha256(_settings_digest().encode() + path.suffix.encode() + b"\0")
    digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path | None:
    value = os.environ.get(CACHE_ENV)
    if value == "off":
        return None
    return Path(value) if value else DEFAULT_CACHE


def _cached(folder: Path | None, key: str) -> list[Finding] | None:
    if folder is None:
        return None
    try:
        return [tuple(f) for f in json.loads((folder / key[:2] / f"{key}.json").read_text())]  # type: ignore[misc]
    except (OSError, ValueError):
        return None  # absent, or unreadable: lint again


def _store(folder: Path | None, key: str, findings: list[Finding]) -> None:
    """Atomic: a temporary file beside the entry, then a rename, so parallel runs never read half."""
    if folder is None:
        return
    target = folder / key[:2]
    try:
        target.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{key}.", dir=target)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(findings, out)
        os.replace(temp, target / f"{key}.json")
    except OSError:
        pass  # a read-only checkout still lints, only slower


def lint_one(path: Path) -> list[Finding]:
    """cfn-lint on one file, uncached: what `cfn-lint FILE` does, with the rule set loaded once
    per process (cfn-lint's Runner imports and builds every rule on each call, nearly half of
    its time on our templates; its own CLI lints many files with one rule set the same way)."""
    from cfnlint.runner.template.runner import run_template_by_file_paths

    config = _config(path)
    return [
        (match.linenumber, match.columnnumber, match.rule.id, match.message)
        for match in run_template_by_file_paths(config, _rules(config))
    ]


def _config(path: Path) -> Any:
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn

    return ConfigMixIn(["--template", str(path)], **ManualArgs(**settings()))


_RULES: dict[tuple[str, ...], Any] = {}


def _rules(config: Any) -> Any:
    """The rules a cfn-lint Runner with this config loads, loaded once per process and rule set."""
    key = tuple(config.append_rules)
    if key not in _RULES:
        from cfnlint.runner.cli import Runner

        _RULES[key] = Runner(config).rules
    return _RULES[key]


def _decoded(path: Path) -> Any:
    from cfnlint.decode import decode

    template, errors = decode(str(path))
    return None if errors else template


def twins(paths: Sequence[Path], among: Sequence[Path]) -> dict[Path, Path]:
    """YAML file of `paths` -> its JSON twin in `among` (same folder and stem) when both decode
    to the same template."""
    present = set(among)
    found = {}
    for path in paths:
        twin = path.with_suffix(".json")
        if path.suffix == ".yaml" and twin in present:
            data = _decoded(path)
            if data is not None and data == _decoded(twin):
                found[path] = twin
    return found


JOBS_ENV = "TAP_CFN_LINT_JOBS"


def jobs() -> int:
    """Lint processes: $TAP_CFN_LINT_JOBS, else one per core."""
    return max(1, int(os.environ.get(JOBS_ENV) or os.cpu_count() or 1))


_POOL: list[ProcessPoolExecutor] = []


def _pool() -> ProcessPoolExecutor:
    """One pool per process, kept: each worker imports cfn-lint and loads its rules once (two
    seconds of CPU), not once per call."""
    if not _POOL:
        _POOL.append(ProcessPoolExecutor(max_workers=jobs()))
    return _POOL[0]


def _run(paths: list[Path], keys: dict[Path, str], folder: Path | None) -> dict[Path, list[Finding]]:
    """cfn-lint on each path (in parallel when there is more than one job and two paths), each
    result stored in the cache."""
    if len(paths) < 2 or jobs() == 1:
        fresh = [lint_one(path) for path in paths]
    else:
        # largest first, one at a time: the workers finish together
        by_size = sorted(paths, key=lambda path: -path.stat().st_size)
        done = dict(zip(by_size, _pool().map(lint_one, by_size), strict=True))
        fresh = [done[path] for path in paths]
    for path, findings in zip(paths, fresh, strict=True):
        _store(folder, keys[path], findings)
    return dict(zip(paths, fresh, strict=True))


def lint(paths: Iterable[Path]) -> list[str]:
    """One line per finding, `file:line:column: RULE message`, in path order; empty when all is clean."""
    ordered = sorted(paths)
    folder = cache_dir()
    keys = {path: cache_key(path) for path in ordered}
    results = {path: hit for path in ordered if (hit := _cached(folder, keys[path])) is not None}
    missing = [path for path in ordered if path not in results]
    pairs = twins(missing, ordered)
    results.update(_run([path for path in missing if path not in pairs], keys, folder))
    for yaml_file, json_file in pairs.items():
        if not results[json_file]:  # the same data as a clean template: clean
            _store(folder, keys[yaml_file], [])
            results[yaml_file] = []
    # a twin of a template with findings is linted itself, so its findings name its own lines
    results.update(_run([y for y in pairs if y not in results], keys, folder))
    return [
        f"{path}:{line}:{column}: {rule} {message}"
        for path in ordered
        for line, column, rule, message in results[path]
    ]


def template_files(directory: Path) -> list[Path]:
    """Every generated template below `directory`."""
    return sorted(p for p in directory.rglob("*") if p.suffix in {".json", ".yaml"} and p.is_file())
