from afo_knowledge_ingest.adapters.embeddings.bm25 import Bm25Encoder
from afo_knowledge_ingest.adapters.embeddings.openai_compatible import model_slug


def test_documents_and_queries_share_stemmed_term_indices() -> None:
    encoder = Bm25Encoder()
    document = encoder.encode_document("The cats were running to the cat door")
    query = encoder.encode_query("running cat")
    assert set(query.indices) <= set(document.indices)  # cats/cat and running/run stem alike
    assert query.values == [1.0] * len(query.indices)
    assert len(document.indices) == len(document.values) == 3  # "the", "were", "to" are stop words
    weights = dict(zip(document.indices, document.values, strict=True))
    assert weights[query.indices[0]] > 0


def test_a_repeated_term_weighs_more() -> None:
    encoder = Bm25Encoder()
    document = encoder.encode_document("invoice invoice invoice payment")
    weights = dict(zip(document.indices, document.values, strict=True))
    [invoice] = encoder.encode_query("invoice").indices
    [payment] = encoder.encode_query("payment").indices
    assert weights[invoice] > weights[payment]


def test_model_slugs_are_safe_in_paths_and_collection_names() -> None:
    assert model_slug("nomic-ai/nomic-embed-text-v1.5") == "nomic-ai-nomic-embed-text-v1-5"
    assert model_slug("text-embedding-3-small") == "text-embedding-3-small"
