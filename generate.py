"""Entry point: python generate.py <command> ..."""

import sys

from tap_cfn.cli import main

if __name__ == "__main__":
    sys.exit(main())
