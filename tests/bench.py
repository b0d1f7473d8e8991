"""`make bench`, on the 2-core reference machine:

1. wall time and peak memory of `python generate.py templates --env ENV` per profile (JSON and
   YAML, interpreter start included), median of several runs: target under 0.25 s and 60 MiB;
2. a scaling table for platforms of 3, 10, 30 and 100 services (tests/platforms.py): time growing
   linearly, 100 services under 0.5 s;
3. what `make templates` runs (generate, draw, docs, lint) with an empty lint cache (cold), after
   one service changed (warm) and unchanged: targets warm under 8 s, unchanged under 2 s;
4. the deploy-time model (tap_cfn/deploytime.py): the critical path of a first deploy in the
   nested form and flat, their ratio (target: nested within 15 % of flat) and the stacks on the
   services' chain.

Where generation time goes: `.venv/bin/pyinstrument generate.py templates --env dev --out /tmp/t --quiet`
(or `--config` a platform of tests/platforms.py written to YAML)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make tests.platforms importable
RUNS = 9
TARGET_SECONDS, TARGET_MIB = 0.25, 60
SCALE = (3, 10, 30, 100)
TARGET_100_SECONDS = 0.5
TARGET_WARM_SECONDS, TARGET_UNCHANGED_SECONDS = 8.0, 2.0
TARGET_NESTING_RATIO = 1.15


# Children run as a user's `python` does, caching bytecode: with PYTHONDONTWRITEBYTECODE set (some
# sandboxes and CI images set it) every run recompiles tap_cfn from source, ~0.1 s that users never pay.
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def measure(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one child process, the
    interpreter's start and the imports included. On a busy machine the CPU time is the figure
    to compare."""
    start = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=REPO, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> int:
    print(
        f"generate.py templates --env ENV --format both: median of {RUNS} runs (target < {TARGET_SECONDS} s, "
        f"< {TARGET_MIB} MiB)"
    )
    print(f"{'profile':<10} {'wall s':>8} {'min s':>8} {'cpu s':>8} {'peak MiB':>9}  verdict")
    ok = True
    with tempfile.TemporaryDirectory() as out:
        for env in ("dev", "staging", "prod"):
            args = [sys.executable, "generate.py", "templates", "--env", env, "--out", out, "--quiet"]
            measure(args)  # warm the file cache
            samples = [measure(args) for _ in range(RUNS)]
            wall = statistics.median(s[0] for s in samples)
            peak = statistics.median(s[1] for s in samples)
            meets = wall < TARGET_SECONDS and peak < TARGET_MIB
            ok &= meets
            print(
                f"{env:<10} {wall:>8.3f} {min(s[0] for s in samples):>8.3f} "
                f"{statistics.median(s[2] for s in samples):>8.3f} {peak:>9.1f}  "
                f"{'ok' if meets else 'OVER TARGET'}"
            )
        ok &= scaling(Path(out))
        ok &= make_templates(Path(out))
        ok &= deploy_time(Path(out) / "loop")
    return 0 if ok else 1


def scaling(out: Path) -> bool:
    """Generation time and peak memory by platform size; the marginal cost per service shows
    whether time grows linearly."""
    import yaml

    from tests.platforms import platform

    print(
        f"\nscaling, dev profile, both formats: median of {RUNS // 2} runs "
        f"(target: linear, 100 services < {TARGET_100_SECONDS} s)"
    )
    print(f"{'services':>8} {'files':>6} {'wall s':>8} {'cpu s':>8} {'ms/service':>11} {'peak MiB':>9}")
    start = [sys.executable, "-c", "import tap_cfn.cli.generate, tap_cfn.generator"]
    measure(start)
    fixed = [measure(start) for _ in range(RUNS // 2)]
    wall, peak, cpu = (statistics.median(sample[i] for sample in fixed) for i in range(3))
    print(f"{'none':>8} {'':>6} {wall:>8.3f} {cpu:>8.3f} {'':>11} {peak:>9.1f}  (start and imports)")
    rows = []
    for count in SCALE:
        config = out / f"platform-{count}.yaml"
        config.write_text(yaml.safe_dump(platform(count)))
        folder = out / f"scale-{count}"
        args = [sys.executable, "generate.py", "templates", "--config", str(config), "--env", "dev",
                "--out", str(folder), "--quiet"]  # fmt: skip
        measure(args)
        samples = [measure(args) for _ in range(RUNS // 2)]
        wall = statistics.median(s[0] for s in samples)
        peak = statistics.median(s[1] for s in samples)
        rows.append((count, wall))
        files = len(list((folder / "dev").iterdir()))
        cpu = statistics.median(s[2] for s in samples)
        print(f"{count:>8} {files:>6} {wall:>8.3f} {cpu:>8.3f} {1000 * wall / count:>11.1f} {peak:>9.1f}")
    steps = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(rows, rows[1:], strict=False)]
    print("marginal ms/service between sizes: " + ", ".join(f"{1000 * step:.1f}" for step in steps))
    return rows[-1][1] < TARGET_100_SECONDS


def _timed(steps: list[list[str]], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (children's user + system, lint workers included) of the steps."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for args in steps:
        subprocess.run(
            args, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu


def make_templates(out: Path) -> bool:
    """`make templates` into a scratch folder: generate, draw, docs, lint, with its own lint cache."""
    import shutil

    import yaml

    from tests.platforms import DEFAULT

    folder, readme, cache = out / "loop", out / "README.md", out / "lint-cache"
    shutil.copy(REPO / "README.md", readme)
    config = out / "tap.yaml"
    config.write_text(yaml.safe_dump(DEFAULT))
    py = sys.executable
    steps = [
        [py, "generate.py", "templates", "--config", str(config), "--out", str(folder), "--quiet"],
        [py, "generate.py", "diagram", "--out", str(folder), "--quiet"],
        [py, "generate.py", "docs", "--readme", str(readme), "--quiet"],
        [py, "generate.py", "lint", "--out", str(folder), "--quiet"],
    ]
    env = {**CHILD_ENV, "TAP_CFN_LINT_CACHE": str(cache)}
    cold = _timed(steps, env)
    changed = yaml.safe_load(config.read_text())
    changed["services"][0]["max"] = changed["services"][0].get("max", 10) + 1  # one scalable target
    config.write_text(yaml.safe_dump(changed))
    warm = _timed(steps, env)
    unchanged = _timed(steps, env)
    print("\nmake templates (generate, draw, docs, lint; all profiles), wall and CPU seconds:")
    for what, (wall, cpu), target in (
        ("cold: empty lint cache", cold, None),
        ("warm: one service changed", warm, TARGET_WARM_SECONDS),
        ("unchanged rerun", unchanged, TARGET_UNCHANGED_SECONDS),
    ):
        verdict = "" if target is None else f"  target < {target:.0f} s: {'ok' if wall < target else 'OVER'}"
        print(f"  {what:<28} {wall:>6.1f} s wall {cpu:>6.1f} s cpu{verdict}")
    return warm[0] < TARGET_WARM_SECONDS and unchanged[0] < TARGET_UNCHANGED_SECONDS


def deploy_time(folder: Path) -> bool:
    """The first deploy of each profile as the model sees it (see tap_cfn/deploytime.py)."""
    from tap_cfn import deploytime
    from tap_cfn.diagram.model import STACK_TYPE, read

    print(f"\ndeploy-time model: creation times as of {deploytime.TABLE_DATE} (tap_cfn/deploytime.py)")
    for kind, (seconds, source) in sorted(deploytime.WEIGHTS.items(), key=lambda item: -item[1][0]):
        print(f"  {seconds:>5.0f} s  {kind:<44} {source[:60]}{'...' if len(source) > 60 else ''}")
    print(f"  {deploytime.STACK_OVERHEAD[0]:>5.0f} s  {'nested stack overhead':<44} estimate; other types "
          f"{deploytime.DEFAULT_WEIGHT[0]:.0f} s (estimate)")  # fmt: skip
    ok = True
    for env in ("dev", "staging", "prod"):
        stacks = read(folder / env)
        nested, flat = deploytime.nested(stacks), deploytime.flat(stacks)
        ratio = nested.seconds / flat.seconds
        ok &= ratio <= TARGET_NESTING_RATIO
        low = deploytime.nested(stacks, overhead=deploytime.LOW_OVERHEAD).seconds
        print(
            f"\n{env}: nested {nested.seconds / 60:.1f} min, flat {flat.seconds / 60:.1f} min, "
            f"ratio {ratio:.2f} (target <= {TARGET_NESTING_RATIO}); with {deploytime.LOW_OVERHEAD:.0f} s per "
            f"nested stack (observed) {low / 60:.1f} min, ratio {low / flat.seconds:.2f}"
        )
        on_path = [s.name for s in nested.path if s.kind == STACK_TYPE and "/" not in s.name]
        print(f"  stacks on the critical path: {' -> '.join(on_path)} ({len(on_path)} nesting levels)")
        print("  nested critical path: " + " -> ".join(f"{s.name} @{s.finish:.0f}s" for s in nested.path))
        print("  flat critical path:   " + " -> ".join(f"{s.name} @{s.finish:.0f}s" for s in flat.path))
        for key in sorted(k for k in stacks.parents if stacks.stems[k].startswith("service-")):
            links = deploytime.chain(stacks, key)
            print(
                f"  {stacks.stems[key]} waits for: "
                + " -> ".join(
                    f"{link.stack}" + (f" [{', '.join(link.via)}]" if link.via else "") for link in links
                )
            )
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
