# scaplock — `make run` starts the service with an embedded etcd,
# `make test` installs what the tests need and runs every test.

GO        ?= go
BIN       := bin
DEB_PKGS  := prometheus-node-exporter prometheus chromium etcd-server etcd-client python3 curl
DEB_BINS  := /usr/bin/prometheus-node-exporter /usr/bin/prometheus /usr/bin/chromium /usr/bin/etcd /usr/bin/etcdctl /usr/bin/python3 /usr/bin/curl
TEST_TIMEOUT ?= 20m
# Test packages run three at a time: they mostly wait (etcd elections,
# graces, Chromium), using about 55% of two cores at -p 3; the default
# (one per core) left make test at 4 min 10 s, -p 3 at 3 min 15 s.
TEST_P ?= 3
# The version both binaries print with --version and scaplockd exports as
# scaplock_build_info; "dev" outside a git checkout.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.revision=$(REVISION)

.PHONY: all build run test deps bench soak fuzz vet demo clean deb deb-install-test e2e

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The lab knows eqiad and codfw besides global (SCAPLOCK_SCOPES overrides).
run: build
	SCAPLOCK_SCOPES=$${SCAPLOCK_SCOPES-eqiad,codfw} ./$(BIN)/scaplockd

demo: build
	./$(BIN)/scaplockd --demo

# The tests start Debian's node_exporter, Prometheus, Chromium and etcd on
# loopback, and the bench times curl beside the CLI; install them when
# missing (needs root or sudo and apt).
deps:
	@missing=""; for b in $(DEB_BINS); do [ -x $$b ] || missing=yes; done; \
	if [ -n "$$missing" ]; then \
		echo "installing $(DEB_PKGS) for the tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(DEB_PKGS) >/dev/null; \
	fi
	@for b in $(DEB_BINS); do [ -x $$b ] || { echo "missing $$b after install" >&2; exit 1; }; done

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 -p $(TEST_P) -timeout $(TEST_TIMEOUT) ./...

# The end-to-end test against a real kube-apiserver: built from the Go
# module proxy in its own module (contrib/e2e/kube-apiserver, so scaplock
# never depends on Kubernetes) once, about 3 minutes on 2 cores, and cached
# under ~/.cache; run on Debian's etcd.
E2E_K8S_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" && $$2 ~ /^v/ {print $$2}' contrib/e2e/kube-apiserver/go.mod)
E2E_APISERVER   ?= $(HOME)/.cache/scaplock-e2e/kube-apiserver-$(E2E_K8S_VERSION)

# The version is in the name: a new pin builds anew, a fresh clone reuses it.
$(E2E_APISERVER):
	mkdir -p $(dir $@)
	cd contrib/e2e/kube-apiserver && $(GO) build -trimpath -ldflags=-s -o $@.tmp . && mv $@.tmp $@

e2e: deps $(E2E_APISERVER)
	SCAPLOCK_E2E_KUBE_APISERVER=$(E2E_APISERVER) $(GO) test -tags e2e -count=1 -timeout 15m -v ./server/e2e

# One report (stdout and bench-report.md): lock service vs raw etcd, gate
# reaction and probe load, detection replays, memory, page weight; then the
# page's write-to-screen time in a real Chromium.
bench: deps
	$(GO) run ./cmd/scaplock-bench -report bench-report.md
	$(GO) test ./web -run '^$$' -bench 'PageWeight|WriteToPage' -benchtime 5x

# The soak alone: scaplockd under mixed load for 5 minutes, then idle for 60 s,
# with its RSS curve (also part of make bench).
soak:
	$(GO) run ./cmd/scaplock-bench -only soak

# Each fuzz target for FUZZTIME; their seed corpora run in `make test`.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./api -run '^$$' -fuzz '^FuzzHoldBody$$' -fuzztime $(FUZZTIME)
	$(GO) test ./api -run '^$$' -fuzz '^FuzzTokenClaims$$' -fuzztime $(FUZZTIME)
	$(GO) test ./api -run '^$$' -fuzz '^FuzzHistoryQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./health -run '^$$' -fuzz '^FuzzClustersFile$$' -fuzztime $(FUZZTIME)

# A Debian package of both binaries, the systemd unit (and the scap bridge's
# when contrib/scap/ has it), /etc/default/scaplockd, the alert rules and
# the dashboard: bin/scaplock_<version>_<arch>.deb. The packaged binaries
# are stripped (-s -w: no symbol table, no DWARF; stack traces and pprof
# still work); `make build`'s keep them for debuggers.
DEB_BIN := $(BIN)/deb
deb:
	rm -f $(BIN)/scaplock_*.deb
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS) -s -w' -o $(DEB_BIN)/ ./cmd/scaplockd ./cmd/scaplock
	contrib/debian/build-deb.sh $(VERSION) $(DEB_BIN) $(BIN)

# Installs the package on this machine, checks and starts scaplockd from it
# as the packaged user, then purges it: for a disposable CI container (root).
deb-install-test: deb
	contrib/debian/install-test.sh $(BIN)/scaplock_*.deb

clean:
	rm -rf $(BIN) scaplock-data bench-report.md
