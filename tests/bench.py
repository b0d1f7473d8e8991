"""`make bench`: wall time and peak memory of `python generate.py templates --env ENV` per
profile (JSON and YAML, interpreter start included), median of several runs.

Then a scaling table: the same for platforms of 3, 10, 30 and 100 services (tests/platforms.py).

Targets on the 2-core reference machine: under 0.25 s and 60 MiB for one profile; time growing
linearly with the number of services, 100 services in under 1 s."""

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
TARGET_100_SECONDS = 1.0
SCALE = (3, 10, 30, 100)
TARGET_100_SECONDS = 1.0


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    print(
        f"generate.py templates --env ENV --format both: median of {RUNS} runs (target < {TARGET_SECONDS} s, "
        f"< {TARGET_MIB} MiB)"
    )
    print(f"{'profile':<10} {'wall s':>8} {'min s':>8} {'peak MiB':>9}  verdict")
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
                f"{env:<10} {wall:>8.3f} {min(s[0] for s in samples):>8.3f} {peak:>9.1f}  "
                f"{'ok' if meets else 'OVER TARGET'}"
            )
        ok &= scaling(Path(out))
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
    print(f"{'services':>8} {'files':>6} {'wall s':>8} {'ms/service':>11} {'peak MiB':>9}")
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
        print(f"{count:>8} {files:>6} {wall:>8.3f} {1000 * wall / count:>11.1f} {peak:>9.1f}")
    steps = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(rows, rows[1:], strict=False)]
    print("marginal ms/service between sizes: " + ", ".join(f"{1000 * step:.1f}" for step in steps))
    return rows[-1][1] < TARGET_100_SECONDS


if __name__ == "__main__":
    raise SystemExit(main())
