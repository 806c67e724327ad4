"""(Re)write the schema snapshots that tests/contract compares against. Run it on purpose, after deciding
that a change is compatible or that its consumers are migrated:

    uv run python tests/contract/update_snapshots.py
"""

from __future__ import annotations

from pathlib import Path

from afo_testkit.contracts import write_snapshots

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def main() -> None:
    written, deleted = write_snapshots(SNAPSHOTS)
    for key in written:
        print(f"wrote   {key}")
    for key in deleted:
        print(f"deleted {key}")
    if not written and not deleted:
        print(f"snapshots in {SNAPSHOTS} are up to date")


if __name__ == "__main__":
    main()
