# Multi-stage: build a static binary, run it as non-root on a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/scaplockd ./cmd/scaplockd \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/scaplock ./cmd/scaplock \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scaplockd /out/scaplock /usr/local/bin/
# The data dir must belong to the non-root user (uid 65532) for the embedded etcd.
COPY --from=build --chown=65532:65532 /out/data /var/lib/scaplock
ENV SCAPLOCK_LISTEN=:8080 SCAPLOCK_DATA_DIR=/var/lib/scaplock
VOLUME /var/lib/scaplock
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/scaplockd"]
