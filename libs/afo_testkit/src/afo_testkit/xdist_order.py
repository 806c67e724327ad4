"""Pytest plugin (``-p afo_testkit.xdist_order`` in the root pyproject's addopts): the files that start processes
(``tests/e2e``, ``tests/browser``, ``tests/bench``) are handed out first, the unit tests after them.

pytest-xdist's ``--dist loadfile`` gives each worker the next file when it is free, by default the files with the
most tests first: the e2e files, a test or two each but tens of seconds to minutes, came last, and one long file
(the cluster's chaos test) started near the end held the run for minutes after the other workers had finished.
With ``--no-loadscope-reorder`` (the Makefile's) the files go in collection order, which this plugin sorts
longest-first, as a scheduler of unequal jobs should: the thousands of short unit tests fill the gaps at the end.
The sort is stable: the order within each part is the collection's."""

from __future__ import annotations

import pytest

SLOW_FIRST = ("tests/e2e/", "tests/browser/", "tests/bench/")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))
