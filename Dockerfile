# syntax=docker/dockerfile:1
# Build stage: wheels of the dependencies first, in their own layer (a source change does not rebuild them),
# then the project's own wheel (its migrations ship inside it). Only pyproject.toml's [project] dependencies: the embedded PostgreSQL is an
# extra that this image, which runs against DATABASE_URL, leaves out.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip wheel --no-cache-dir --wheel-dir /wheels/deps -r requirements.txt
COPY README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels/app .

# Runtime stage: no compilers, no sources beyond what runs, a non-root user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TENANT_SERVICE_DATA_DIR=/var/lib/tenant-service \
    HOST=0.0.0.0 \
    PORT=3007
RUN useradd --system --uid 10001 --home-dir /var/lib/tenant-service --create-home tenant
WORKDIR /app
# The wheels are mounted, not copied: they never become a layer of the image.
RUN --mount=type=bind,from=build,source=/wheels/deps,target=/wheels/deps \
    pip install --no-cache-dir --no-index /wheels/deps/*.whl
RUN --mount=type=bind,from=build,source=/wheels/app,target=/wheels/app \
    pip install --no-cache-dir --no-index --no-deps /wheels/app/*.whl
USER 10001
EXPOSE 3007
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3007\")}/health/live', timeout=2)"]
ENTRYPOINT ["tenant-service"]
CMD ["serve", "--host", "0.0.0.0"]
