"""The core: models, spaces, indexes and vector arithmetic. Plain Python over numpy,
gensim, sentence-transformers and hnswlib; no grpc here."""
