"""The word-model file formats `loaders.py` reads, named without importing it (settings
and `--help` stay free of numpy)."""

FORMATS = ("kumo", "word2vec", "word2vec-binary", "glove", "fasttext", "kv")
