"""tap_cfn/rules/AlbDeletionProtectionLiteral.py: its good and bad templates."""

from __future__ import annotations

from tap_cfn.rules.AlbDeletionProtectionLiteral import AlbDeletionProtectionLiteral
from tests.rules.support import RuleTests


class TestAlbDeletionProtectionLiteral(RuleTests):
    RULE = AlbDeletionProtectionLiteral
