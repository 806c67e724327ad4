from afo_knowledge_ingest.adapters.embeddings.query_cache import QueryCache


def test_the_least_recently_used_query_goes_first() -> None:
    cache = QueryCache(2)
    cache.put("a", [1.0])
    cache.put("b", [2.0])
    assert cache.get("a") == [1.0]  # a is now the most recent
    cache.put("c", [3.0])
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ([1.0], None, [3.0])


def test_a_returned_vector_is_a_copy() -> None:
    cache = QueryCache(1)
    cache.put("a", [1.0])
    got = cache.get("a")
    assert got is not None
    got[0] = 5.0
    assert cache.get("a") == [1.0]
