#!/usr/bin/env python3
"""Entry point: `python generate.py [COMMAND] ...`; see `python generate.py --help`."""

from tap_cfn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
