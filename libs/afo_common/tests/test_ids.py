import time
import uuid

from afo_common.ids import is_resource_id, new_id, uuid7


def test_uuid7_carries_the_version_the_variant_and_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000

    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after


def test_resource_ids_are_a_prefix_and_26_lowercase_base32_characters() -> None:
    value = new_id("conv")

    assert value.startswith("conv_")
    assert len(value) == len("conv_") + 26
    assert set(value[5:]) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    assert is_resource_id(value)
    assert is_resource_id(value, "conv")
    assert not is_resource_id(value, "agt")
    assert not is_resource_id(value, "con")


def test_malformed_resource_ids_are_recognised() -> None:
    good = new_id("agt")
    assert not is_resource_id(good.upper())
    assert not is_resource_id(good[:-1])
    assert not is_resource_id(good + "0")
    assert not is_resource_id("agt-" + good[4:])
    assert not is_resource_id("x_" + good[4:])
    assert not is_resource_id("agt_" + "0" * 25 + ".")


def test_ids_made_in_later_milliseconds_sort_later() -> None:
    ids = []
    events = []
    for _ in range(20):
        ids.append(new_id("msg"))
        events.append(uuid7())
        time.sleep(0.002)

    assert ids == sorted(ids)
    assert events == sorted(events)
    assert len(set(ids)) == 20


def test_ids_made_in_one_millisecond_are_still_unique() -> None:
    ids = {new_id("msg") for _ in range(10_000)}
    assert len(ids) == 10_000


def test_ids_made_in_one_millisecond_still_sort_by_creation() -> None:
    made = [new_id("ops") for _ in range(5000)]  # thousands per millisecond

    assert made == sorted(made) and len(set(made)) == len(made)
