# Production image of Pult. One image, two roles (see docker-compose.yml):
#   app     alembic upgrade head, then the Reflex app: frontend, /_event WebSocket and API on port 3000
#   worker  rq worker --url "$REDIS_URL" pult
FROM node:22-bookworm-slim AS node

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/app/.venv/bin:$PATH \
    PULT_PORT=3000 \
    PULT_LOG_FORMAT=json

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# Node.js (Reflex builds the frontend with it) and bun from npm.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && npm install -g --no-audit --no-fund bun \
 && (bun --version || (cd /usr/local/lib/node_modules/bun && node install.js && bun --version))

RUN useradd --create-home --uid 1000 pult \
 && mkdir -p /app/.data \
 && chown -R pult:pult /app
WORKDIR /app
USER pult

# Python packages into /app/.venv, the same way scripts/run does it.
COPY --chown=pult:pult requirements.txt ./
COPY --chown=pult:pult scripts/lib.sh scripts/
RUN bash -c 'source scripts/lib.sh && pult_python_env'

COPY --chown=pult:pult . .
# Install the frontend's packages and build it once here, so a container starts without
# downloading anything (`reflex run --env prod` then only rebuilds).
RUN bash -c 'source scripts/lib.sh && pult_bun && reflex export --frontend-only --no-zip --loglevel warning'

EXPOSE 3000
VOLUME ["/app/.data"]
ENTRYPOINT ["scripts/docker-entrypoint"]
CMD ["sh", "-c", "alembic upgrade head && exec reflex run --env prod --loglevel warning --frontend-port \"$PULT_PORT\" --backend-port \"$PULT_PORT\""]
