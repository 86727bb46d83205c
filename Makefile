# shuffle — see README.md. Everything a fresh machine with Go needs is
# fetched by the go command itself.
GO      ?= go
BIN     := bin/shuffle
PKGS    := ./...

.PHONY: all build test demo clean release

all: build

build:
	$(GO) build -o $(BIN) ./cmd/shuffle

# The test suite. The AWS CLI tests skip with a message where `aws` is
# absent; CI machines have it.
test:
	$(GO) test -count=1 -timeout 20m $(PKGS)

# The main job against the bundled emulator with representative data.
demo: build
	./scripts/demo.sh

clean:
	rm -rf bin testenv-run dist

# Release binaries: dist/shuffle-<os>-<arch>[.exe] for every target in
# RELEASE_TARGETS, stamped with the version (git describe) and commit
# that `shuffle version` prints, and dist/SHA256SUMS (sha256sum -c).
RELEASE_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
VERSION ?= $(shell git describe --tags --always --dirty)
COMMIT  ?= $(shell git rev-parse HEAD)$(shell git diff --quiet HEAD -- 2>/dev/null || echo ' (modified)')
LDFLAGS := -s -w -X main.version=$(VERSION) -X 'main.commit=$(COMMIT)'

release:
	rm -rf dist
	mkdir -p dist
	@set -e; for t in $(RELEASE_TARGETS); do \
	  os=$${t%/*}; arch=$${t#*/}; ext=; \
	  case $$os in windows) ext=.exe;; esac; \
	  echo "dist/shuffle-$$os-$$arch$$ext"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
	    -o dist/shuffle-$$os-$$arch$$ext ./cmd/shuffle; \
	done
	@cd dist && if command -v sha256sum >/dev/null; then sha256sum shuffle-*; else shasum -a 256 shuffle-*; fi > SHA256SUMS
	@echo "dist/SHA256SUMS"; echo "version $(VERSION), commit $(COMMIT)"

# Benchmarks (figures go to docs/performance.md).
.PHONY: bench-testenv
bench-testenv: build
	./scripts/bench-testenv.sh

.PHONY: bench-inventory
bench-inventory: build
	./scripts/bench-inventory.sh

.PHONY: bench-copy
bench-copy: build
	./scripts/bench-copy.sh

.PHONY: bench-variants
bench-variants: build
	./scripts/bench-variants.sh

.PHONY: bench-state
bench-state: build
	./scripts/bench-state.sh

# The approved-plan file at 1M decisions (N=... to change the size):
# write, verify, read, load and the drift comparison, in Go benchmarks.
.PHONY: bench-approval
bench-approval:
	SHUFFLE_BENCH_APPROVAL_N=$${N:-1000000} go test -run '^$$' -bench BenchmarkApproval -benchtime 1x -timeout 60m ./engine/approval/

# Approved plans as whole processes at 1M RPs against testenv: plan vs
# plan --out, show, and a run up to replicate with and without --plan.
.PHONY: bench-approval-e2e
bench-approval-e2e: build
	./scripts/bench-approval-e2e.sh

# One metrics scrape (cold, cached) and the background forecast on a
# state: STATE=DIR, e.g. the state/ that KEEP=1 make bench-approval-e2e
# leaves (1M RPs).
.PHONY: bench-metrics
bench-metrics:
	SHUFFLE_BENCH_STATE=$${STATE:?set STATE to a state directory} go test -run '^$$' -bench BenchmarkMetricsScrape -benchtime 1x -count 3 -timeout 30m ./cmd/shuffle/

# A delta listing against the full listing that made the state, in AWS
# calls, at 1M RPs with about 1% new (RPS=... to change the size).
.PHONY: bench-delta
bench-delta:
	SHUFFLE_BENCH_DELTA_RPS=$${RPS:-1000000} go test -run '^$$' -bench BenchmarkDeltaListing -benchtime 1x -timeout 60m ./engine/inventory/

# The whole migration at 1M RPs through repeated windows, with faults,
# expiring tokens and SIGKILLs (about an hour; not part of make test).
.PHONY: soak
soak: build
	./scripts/soak.sh
