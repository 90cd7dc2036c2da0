# One image for the composite process: the API on 12000 and the website on 12001, both
# served by `python app.py` over the DuckDB file in /app/data.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# A package index other than PyPI (a mirror) can be given with --build-arg.
ARG PIP_INDEX_URL=https://pypi.org/simple

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    BACKEND_PORT=12000 \
    FRONTEND_PORT=12001 \
    DATABASE_PATH=/app/data/app.db \
    SHUTDOWN_TIMEOUT=5

WORKDIR /app

# Dependencies first, every transitive one pinned: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# The code stays owned by root (read-only to the server); only data/ is writable.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app \
    && mkdir -p /app/data \
    && chown 10001:10001 /app/data
COPY app.py ./
COPY composite/ ./composite/

VOLUME ["/app/data"]
EXPOSE 12000 12001
USER 10001:10001

# Both ports must answer: the API's /api/health (which queries the database) and the
# website's /healthz. Stdlib only, so no curl is needed in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "composite.library.healthcheck"]

# Exec form: python is PID 1 and receives docker stop's SIGTERM itself. It finishes the
# requests in flight for at most SHUTDOWN_TIMEOUT (5 s) seconds, closes the database
# and exits, well before Docker's kill after 10 s.
CMD ["python", "app.py"]
