# logs-collector container image: a multi-stage build on Debian 12 (bookworm).
#   docker build -t logs-collector .
#   docker run -d -p 8000:8000 -v lc-data:/data \
#       -e ALLOWED_HOSTS=logs.example.com,localhost,127.0.0.1 logs-collector
# Not built in the project's CI (no container engine there); see docs/deployment.md.

# --- build: compilers and -dev packages, then meson + ninja -----------------------
FROM debian:bookworm-slim AS build
WORKDIR /src
# scripts/deps.sh holds the one list of build packages (compiler, meson, ninja, -dev).
COPY scripts/deps.sh scripts/deps.sh
RUN apt-get update \
    && scripts/deps.sh build \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN meson setup build --buildtype=release -Dtests=disabled \
    && ninja -C build \
    && strip build/logs-collector \
    && build/logs-collector version

# --- runtime: only the shared libraries the binary links against ------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libsqlite3-0 libpq5 libjansson4 libsodium23 libssl3 libjwt0 \
        tzdata ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 999 logs-collector \
    && useradd --system --uid 999 --gid logs-collector --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin logs-collector \
    && install -d -o logs-collector -g logs-collector -m 0750 /data

COPY --from=build /src/build/logs-collector /usr/local/bin/logs-collector

# DATA_DIR holds the SQLite database, the generated secret key, the first admin's
# password file and the archives: keep it on a volume. BIND listens on every interface
# of the container. ALLOWED_HOSTS must name the public host name; keep localhost and
# 127.0.0.1 in it too, or the HEALTHCHECK below (Host: 127.0.0.1) gets 400.
ENV DATA_DIR=/data \
    BIND=0.0.0.0:8000 \
    ALLOWED_HOSTS=localhost,127.0.0.1,::1 \
    TZ=UTC
VOLUME ["/data"]
WORKDIR /data
USER logs-collector
EXPOSE 8000

# 200 {"status": "ok"} while the database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8000/api/v1/check/health/ || exit 1

# SIGTERM (docker stop) lets requests in flight finish for up to 30 s: run
# `docker stop -t 40` / compose stop_grace_period: 40s to give it that time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/logs-collector"]
CMD ["serve"]
