import pytest

from afo_knowledge_ingest.adapters.vectors import points
from afo_knowledge_ingest.domain.vectors import SparseVector

TERMS = SparseVector(indices=[7], values=[1.0])


def test_point_ids_are_stable_and_scoped_by_tenant() -> None:
    assert points.point_id("t1", "c1") == points.point_id("t1", "c1")
    assert points.point_id("t1", "c1") != points.point_id("t2", "c1")
    assert str(points.point_id("t1", "c1")) == "4e01a3f1-fdfa-5dc8-8987-b9eda1068471"  # never changes


@pytest.mark.parametrize("space", ["../etc", "a/b", "", "Upper", "a" * 101])
def test_a_space_that_could_escape_its_directory_is_refused(space: str) -> None:
    with pytest.raises(ValueError, match="invalid vector space"):
        points.check_space(space)


def test_hybrid_uses_what_it_is_given_and_single_modes_insist() -> None:
    assert points.plan("hybrid", [1.0], TERMS).fused
    assert points.plan("hybrid", None, TERMS) == points.Plan(None, TERMS)
    assert points.plan("hybrid", [1.0], SparseVector([], [])) == points.Plan([1.0], None)
    assert points.plan("dense", [1.0], TERMS) == points.Plan([1.0], None)
    assert points.plan("sparse", [1.0], TERMS) == points.Plan(None, TERMS)
    assert points.plan("sparse", None, SparseVector([], [])).empty
    with pytest.raises(ValueError, match="dense"):
        points.plan("dense", None, TERMS)
    with pytest.raises(ValueError, match="sparse"):
        points.plan("sparse", [1.0], None)


def test_candidate_lists_are_four_times_the_limit_and_at_least_twenty() -> None:
    assert [points.prefetch_limit(n) for n in (1, 5, 10)] == [20, 20, 40]
