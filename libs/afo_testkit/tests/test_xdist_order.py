"""The files that start processes go out to the workers first, each part keeping its collection order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import pytest

from afo_testkit.xdist_order import pytest_collection_modifyitems


@dataclass
class Item:
    nodeid: str


def test_process_starting_files_come_first_in_their_own_order() -> None:
    collected = ["libs/afo_common/tests/test_ids.py::test_a", "services/gateway/tests/unit/test_x.py::test_b",
                 "tests/contract/test_events.py::test_c", "tests/e2e/test_text_journey.py::test_d",
                 "tests/browser/test_widget.py::test_e", "tests/e2e/test_cluster_chaos.py::test_f",
                 "tests/bench/test_soak_smoke.py::test_g", "libs/afo_cli/tests/test_demo.py::test_h"]
    items = [Item(nodeid) for nodeid in collected]

    pytest_collection_modifyitems(cast(list[pytest.Item], items))

    assert [item.nodeid for item in items] == [
        "tests/e2e/test_text_journey.py::test_d", "tests/browser/test_widget.py::test_e",
        "tests/e2e/test_cluster_chaos.py::test_f", "tests/bench/test_soak_smoke.py::test_g",
        "libs/afo_common/tests/test_ids.py::test_a", "services/gateway/tests/unit/test_x.py::test_b",
        "tests/contract/test_events.py::test_c", "libs/afo_cli/tests/test_demo.py::test_h"]
