"""``python -m bench`` (what ``make bench`` runs): the core benchmarks, then the UI ones if present.

Each module runs in its own process, ``python -m bench.<name>``: the Qt ones leave with
``os._exit`` (PySide6 can crash tearing Qt down at exit), which in this process would end
``make bench`` before the modules after them ran. Figures go to bench/results.json.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

MODULES = ("bench.bench_core", "bench.bench_ui", "bench.bench_form", "bench.bench_server",
           "bench.bench_sync", "bench.bench_sync_ui")

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    failed = []
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            print(f"({name} is not present; skipped)")
            continue
        sys.stdout.flush()
        ran = subprocess.run([sys.executable, "-m", name], cwd=ROOT, check=False)
        if ran.returncode != 0:
            failed.append(name)
    if failed:
        print(f"Benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
