"""Who owns a resource: every row belongs to one (account, region), and ARNs are built from it."""

from __future__ import annotations

from typing import NamedTuple


class Tenant(NamedTuple):
    account_id: str
    region: str

    def arn(self, service: str, resource: str) -> str:
        """``arn:aws:<service>:<region>:<account>:<resource>``, as AWS builds them."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"
