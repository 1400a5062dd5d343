# fieldgate container image: build with cgo against libvips (team copies),
# run on Debian 12 slim with only the runtime libraries, as a non-root user.
#   docker build -t fieldgate --build-arg VERSION=$(git describe --always) .
# compose.yaml runs it with PostgreSQL, MinIO and Prosody and the demo town.
# Checked in CI by cmd/fieldgate/container_test.go (no Docker engine there).

FROM golang:1.27-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips-dev libyuv-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/fieldgate ./cmd/fieldgate

FROM debian:bookworm-slim
# libvips42 (with libheif for HEIC) and libyuv0 for team copies; ca-certificates for S3
# and XMPP over TLS; postgresql-client-15 for `fieldgate backup`/`restore`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips42 libyuv0 ca-certificates postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 fieldgate \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin fieldgate
COPY --from=build /out/fieldgate /usr/local/bin/fieldgate
COPY deploy/demo /usr/share/fieldgate/demo
USER 65532:65532
ENV FIELDGATE_HTTP_ADDR=0.0.0.0:8080 \
    FIELDGATE_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fieldgate"]
CMD ["serve"]
