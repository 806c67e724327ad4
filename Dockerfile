# syntax=docker/dockerfile:1.7
#
# One image per service, built from the workspace root:
#
#   docker build --build-arg SERVICE=gateway       -t afo/gateway:dev .
#   docker build --build-arg SERVICE=agent_runtime -t afo/agent-runtime:dev .
#
# SERVICE is the service name with underscores or hyphens (gateway, agent_runtime, voice_media,
# knowledge_ingest, workflow_executor, notifier). The image runs `python -m afo_${SERVICE}`; every image
# also carries the `afo` CLI (afo-cli), so `afo streams ensure` runs from any of them.
# Pattern: https://docs.astral.sh/uv/guides/integration/docker/ (dependencies layer first, then the
# workspace, non-editable, and only the virtual environment is copied into the runtime stage).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /bin/

ARG SERVICE
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# 1. Third-party dependencies only: this layer changes only when uv.lock or a pyproject.toml does.
#    Every workspace member's pyproject.toml is listed (tests/deploy checks the list is complete).
COPY pyproject.toml uv.lock ./
COPY libs/afo_common/pyproject.toml libs/afo_common/
COPY libs/afo_cli/pyproject.toml libs/afo_cli/
COPY libs/afo_testkit/pyproject.toml libs/afo_testkit/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/agent-runtime/pyproject.toml services/agent-runtime/
COPY services/voice-media/pyproject.toml services/voice-media/
COPY services/knowledge-ingest/pyproject.toml services/knowledge-ingest/
COPY services/workflow-executor/pyproject.toml services/workflow-executor/
COPY services/notifier/pyproject.toml services/notifier/
RUN --mount=type=cache,target=/root/.cache/uv \
    test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<service>" >&2; exit 1; }; \
    pkg="afo-$(printf '%s' "${SERVICE}" | tr '_' '-')"; \
    uv sync --frozen --no-dev --no-install-workspace --package "${pkg}" --package afo-cli

# 2. The workspace itself, installed non-editable so the runtime stage needs no source tree.
COPY libs/ libs/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    pkg="afo-$(printf '%s' "${SERVICE}" | tr '_' '-')"; \
    uv sync --frozen --no-dev --no-editable --package "${pkg}" --package afo-cli \
    && /app/.venv/bin/python -c "import importlib, sys; importlib.import_module(sys.argv[1])" \
       "afo_$(printf '%s' "${SERVICE}" | tr '-' '_')"

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="afo-${SERVICE}" \
      org.opencontainers.image.description="AFO service ${SERVICE}"

RUN groupadd --system --gid 10001 afo \
    && useradd --system --uid 10001 --gid afo --home-dir /var/lib/afo --no-create-home \
       --shell /usr/sbin/nologin afo \
    && install -d -o afo -g afo -m 0750 /var/lib/afo

# The environment is owned by root and read-only for the service user.
COPY --from=builder /app/.venv /app/.venv
COPY --chmod=0755 deploy/docker/entry.sh /usr/local/bin/afo-entry

ENV PATH="/app/.venv/bin:${PATH}" \
    AFO_SERVICE="${SERVICE}" \
    AFO_HOME=/var/lib/afo \
    AFO_HTTP_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER 10001:10001
WORKDIR /var/lib/afo
# gateway: AFO_HTTP_PORT (8000); every other service: AFO_<SERVICE>_HTTP_PORT (8080 in containers).
EXPOSE 8000 8080
STOPSIGNAL SIGTERM
CMD ["afo-entry"]
