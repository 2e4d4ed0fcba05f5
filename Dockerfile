# The gateway alone, for real Amazon Personalize: no local Personalize, no numpy.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --system --create-home --uid 10001 gateway
WORKDIR /app

# Dependencies first, in their own layer: the README's install path on empty packages.
COPY pyproject.toml constraints.txt README.md ./
COPY scripts/bootstrap scripts/bootstrap
RUN mkdir gateway schema emulator \
    && touch gateway/__init__.py schema/__init__.py emulator/__init__.py \
    && scripts/bootstrap none

COPY schema schema
COPY gateway gateway

USER gateway
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD [".venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# GATEWAY_WORKERS server processes (one per core the container may use), each with its own app.
ENV GATEWAY_WORKERS=1
CMD ["sh", "-c", "exec .venv/bin/uvicorn --factory gateway.asgi:create_app_from_env --http gateway.http_protocol:GuardedHttpToolsProtocol --host 0.0.0.0 --port 8000 --proxy-headers --no-server-header --workers \"$GATEWAY_WORKERS\""]
