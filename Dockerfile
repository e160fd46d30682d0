# The Non-Linear server. Build: docker build -t nonlinear .
# Run over a workspace mounted at /workspace:
#   docker run -p 7373:7373 -v "$PWD:/workspace" nonlinear
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nonlinear \
    && cp target/release/nonlinear /usr/local/bin/nonlinear

FROM debian:bookworm-slim
# git: the server commits API writes; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/nonlinear /usr/local/bin/nonlinear
WORKDIR /workspace
EXPOSE 7373
# No authentication yet: whoever reaches the port can write. Publish it on
# a trusted network only (docs/server.md).
ENV NONLINEAR_LOG_FORMAT=json
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD curl -fsS http://127.0.0.1:7373/health || exit 1
ENTRYPOINT ["nonlinear", "serve", "/workspace", "--bind", "0.0.0.0:7373"]
