"""The HTTP/JSON twin of the gRPC API (`latentd serve --http-port`): every latent.v1 RPC
as `POST /v1/<Service>/<Method>` in proto3 JSON, OpenAI-compatible `/v1/embeddings`,
health, metrics, OpenAPI with offline docs, and the Explorer page.

An edge beside `api/`, with the same rule: convert, call, convert back. Every call runs
through the gRPC server's own interceptor chain (api/pipeline.py), so keys, admission,
metrics, access logs and the error mapping are shared, never copied."""
