"""Each chunk's sentences with their dense vectors, made at ingestion, so a search can score every sentence of
its hits against the query without running a model (``Search.with_sentences``).

- The sentences of a chunk are those of ``sentences.split_sentences`` with at least ``MIN_WORDS`` words: "Yes.",
  "Pricing" or "Call us." say nothing worth scoring on their own. Their order is the chunk's.
- They are embedded with the knowledge base's dense embedder, in the same call as their chunks (one batch),
  and stored on the chunk's row with the space they belong to (``sentence_space``): a search in another
  space (a re-embedding switched it, or old data) gets no sentence scores rather than wrong ones.
- Vectors are kept as int8: ``round(127 * v)`` of the unit vector, ``dimension`` bytes a sentence (384 for
  MiniLM, 4 times smaller than float32). The cosine of the query and the dequantised vector differs from the
  float one by well under 0.01, far below what separates a relevant sentence from another.
- Cost, measured on this 2-core machine with the embedded model (bench.knowledge, 19 documents, 192 chunks,
  843 sentences): ingestion's embedding step goes from 22 to 12 chunks/s (all steps: 21 to 11), every chunk's
  sentences being embedded too. At search, scoring five hits' sentences (384-d) takes 0.6 ms median; with
  the one query that loads them, ``with_sentences`` adds ~1.6 ms a search on PostgreSQL, ~2 ms on SQLite
  (tests/handlers/test_sentences.py)."""
