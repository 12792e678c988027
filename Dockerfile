# Multi-stage: build a static binary, run it as non-root on a minimal image.
# The version is passed in, since .git is not in the build context:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) --build-arg REVISION=$(git rev-parse HEAD) .
FROM golang:1.26-bookworm AS build
ARG VERSION=dev
ARG REVISION=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/scaplockd ./cmd/scaplockd \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/scaplock ./cmd/scaplock \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scaplockd /out/scaplock /usr/local/bin/
# The data dir must belong to the non-root user (uid 65532) for the embedded etcd.
COPY --from=build --chown=65532:65532 /out/data /var/lib/scaplock
ENV SCAPLOCK_LISTEN=:8080 SCAPLOCK_DATA_DIR=/var/lib/scaplock
VOLUME /var/lib/scaplock
EXPOSE 8080
USER nonroot:nonroot
# No shell or curl in distroless: scaplockd asks its own /readyz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/scaplockd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/scaplockd"]
