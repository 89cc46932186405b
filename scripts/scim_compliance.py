"""SCIM 2.0 compliance of Gatehouse's /scim/v2, checked by scim2-tester (PyPI), the protocol
test suite of the python-scim project: discovery, then create, read, replace and delete of
every resource type the server publishes, with the values the tester makes up.

Usage: python3 scripts/scim_compliance.py <base URL ending in /scim/v2> <provisioning token>
Prints one line per check; exits 1 when any check fails (ERROR), 0 otherwise.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    results = check_server(SyncSCIMClient(http))
    counts: dict[str, int] = {}
    for r in results:
        where = f" [{r.resource_type}]" if r.resource_type else ""
        print(f"{r.status.name:<10} {r.title}{where}: {r.reason or ''}")
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
    failed = sum(1 for r in results if r.status in FAILED)
    print(f"scim2-tester: {len(results)} checks: {counts}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
