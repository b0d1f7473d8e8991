"""`python -m tap_cfn.rules` prints the table of our cfn-lint rules that the README shows."""

import sys

from tap_cfn.rules import table

sys.stdout.write(table())
