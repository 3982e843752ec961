"""Start the Sharelog desktop client."""

from __future__ import annotations

import argparse
import multiprocessing
import sys

from app import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sharelog", description="Sharelog desktop client")
    parser.add_argument("--version", action="version", version=f"Sharelog {__version__}")
    parser.parse_args(argv)
    from ui.shell.app import run

    return run(sys.argv[:1])


if __name__ == "__main__":
    # A packaged build starts the deep check's signature workers through this file.
    multiprocessing.freeze_support()
    raise SystemExit(main())
