#!/usr/bin/env bash
# Prints a .env with fresh random secrets for deploy/compose.yaml: `deploy/make-env.sh > deploy/.env`.
set -euo pipefail
secret() { python3 -c "import secrets; print(secrets.token_urlsafe(32))"; }
cat <<ENV
POSTGRES_PASSWORD=$(secret)
FTLAB_INSTRUCTOR_TOKEN=$(secret)
FTLAB_SECRET_KEY=$(secret)
RAY_AUTH_TOKEN=$(secret)
ENV
