# iomapct: check a kernel patch series against an executable iomap model.
#   make test-kernel   install deps, build Linux 6.12, boot it, print the verdict
#   make test          install deps, vet, unit tests and the end-to-end smoke
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
REVISION ?= baseline
RUN_FLAGS ?=
# The crash check after the run (iomapct run --crash): quick, full or off.
CRASH ?= quick

.PHONY: all deps build agent vet unit test test-kernel selftest bench clean

all: build

deps:
	@./scripts/deps.sh

build:
	$(GO) build -o bin/iomapct ./cmd/iomapct

# The guest agent must be static and run on QEMU's default CPU model.
agent:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1 $(GO) build -trimpath -ldflags='-s -w' -o bin/iomapct-agent ./cmd/iomapct-agent

# staticcheck is a go.mod tool (go get -tool honnef.co/go/tools/cmd/staticcheck):
# the module proxy fetches it, nothing to install.
vet:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

unit:
	$(GO) test -short ./...

# The full suite includes the end-to-end smoke (cmd/iomapct), which builds
# the kernel once (cached under $${XDG_CACHE_HOME:-~/.cache}/iomapct) and boots it.
# -count=1: those tests depend on the kernel, QEMU and the tools, which the Go
# test cache cannot see, so a cached "ok" would prove nothing.
test: deps vet
	$(GO) test -count=1 -timeout 80m ./...

test-kernel: deps build agent
	./bin/iomapct run --revision $(REVISION) --agent bin/iomapct-agent --crash $(CRASH) $(RUN_FLAGS)

# The mutation self-test: build every mutant of kernel/mutants and check
# the catalogue kills it (SELFTEST_FLAGS e.g. "--all" or "--mutants a,b").
SELFTEST_FLAGS ?=
selftest: deps build agent
	./bin/iomapct selftest --agent bin/iomapct-agent $(SELFTEST_FLAGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

clean:
	rm -rf bin runs
