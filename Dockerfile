# syntax=docker/dockerfile:1
# Build stage: compile wheels for the project and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: no compilers, no sources beyond what runs, a non-root user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TENANT_SERVICE_DATA_DIR=/var/lib/tenant-service \
    TENANT_SERVICE_MIGRATIONS=/app/migrations \
    HOST=0.0.0.0 \
    PORT=3007
RUN useradd --system --uid 10001 --home-dir /var/lib/tenant-service --create-home tenant
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY migrations ./migrations
USER 10001
EXPOSE 3007
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3007\")}/health/live', timeout=2)"]
ENTRYPOINT ["tenant-service"]
CMD ["serve", "--host", "0.0.0.0"]
