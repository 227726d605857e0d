"""Indexing and retrieval: documents into searchable, citable chunks in Chroma, embedded through ONNX, with
BM25 beside them; the hybrid retriever is a LlamaIndex retriever.

It imports only `core`: everything that answers, audits or talks to Slack calls into it.
"""
