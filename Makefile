# shuffle — see README.md. Everything a fresh machine with Go needs is
# fetched by the go command itself.
GO      ?= go
BIN     := bin/shuffle
PKGS    := ./...

.PHONY: all build test demo clean

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
	rm -rf bin testenv-run

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
