# One image for every service: `returns run <service>` picks which
# (the console: `python -m services.console`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY schemas ./schemas
COPY services ./services
COPY infra/topics.toml ./infra/topics.toml
# The console serves docs/asyncapi.yaml rendered, next to intake's OpenAPI.
COPY docs ./docs
RUN uv sync --frozen --no-dev

# Services bind to all interfaces inside the container.
ENV RETURNS_WEB_HOST=0.0.0.0 \
    RETURNS_STATE_DIR=/tmp/returns-state
USER nobody
ENTRYPOINT ["returns"]
