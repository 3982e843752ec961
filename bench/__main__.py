"""``python -m bench`` (what ``make bench`` runs): the core benchmarks, then the UI ones if present.

Each module is run as if by ``python -m bench.<name>``; figures go to bench/results.json.
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
import traceback

MODULES = ("bench.bench_core", "bench.bench_ui", "bench.bench_form", "bench.bench_server",
           "bench.bench_sync")


def main() -> int:
    failed = []
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            print(f"({name} is not present; skipped)")
            continue
        try:
            runpy.run_module(name, run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"Benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
