# Dossier — the two commands a new machine needs are `make run` and `make test`.
SWIFT      ?= swift
CERTS      ?= certs/dev
DATA       ?= ./data
PORT       ?= 7443
BIN        := .build/debug

.PHONY: all deps build release certs run test test-interop crash-test ha-test fuzz bench soak check-runtime-deps image image-test check-generated generate clean

all: build

## Installs missing Debian packages (librocksdb-dev, protobuf-c, OpenSSL …).
deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

## Optimized binaries with the Swift runtime linked in (what the container image runs).
SWIFT_RELEASE_FLAGS ?= --static-swift-stdlib
release: deps
	$(SWIFT) build -c release $(SWIFT_RELEASE_FLAGS)

## Development CA, server and sample client certificates, and the development master and
## log-signing keys next to them (only when absent; never inside a data directory).
certs: $(CERTS)/ca.pem $(CERTS)/master.key
$(CERTS)/ca.pem:
	@bash certs/make-dev-certs.sh $(CERTS)
$(CERTS)/master.key: | $(CERTS)/ca.pem
	@bash scripts/dev-keys.sh $(CERTS)

## Builds, makes dev certificates and keys if absent, and starts dossierd on 127.0.0.1:$(PORT)
## with its data in $(DATA) and the records' keys in $(KEYSTORE).
KEYSTORE   ?= ./keystore
run: build certs
	@echo "development keys: $(CERTS)/master.key, $(CERTS)/log-signing.key (outside the data directory); key store: $(KEYSTORE)"
	$(BIN)/dossierd --host 127.0.0.1 --port $(PORT) --data-dir $(DATA) --key-store $(KEYSTORE) \
	  --backup-dir ./backups --key-store-backup-dir ./keystore-backups \
	  --master-key $(CERTS)/master.key --log-signing-key $(CERTS)/log-signing.key \
	  --cert $(CERTS)/server.pem --key $(CERTS)/server.key --client-ca $(CERTS)/ca.pem

## Fails fast when proto/ changed and the generated code did not, then runs every test:
## the server and the CLI as an unprivileged user (the README's scenario), the FHIR export story with
## the CLI (validated by the fhir.resources library in a virtual environment), the interoperability check with containerd's Go ttrpc client, the C client's suite under
## valgrind, a short crash test (3 SIGKILLs under write load), then the Swift test suites
## (whose summary line ends the run).
test: deps check-generated certs
	$(SWIFT) build --build-tests
	$(BIN)/dossierd config check --config Docker/dossierd.example.json --syntax-only >/dev/null
	bash scripts/unprivileged-test.sh $(BIN)
	bash scripts/fhir-export-test.sh $(BIN)
	bash scripts/interop-go.sh
	$(MAKE) -C clients/c valgrind-check DOSSIERD=$(CURDIR)/$(BIN)/dossierd
	bash scripts/crash-test.sh 3 2
	bash scripts/postgres-test.sh $(BIN)
	bash scripts/swift-test.sh

## The release binaries need only what the container's runtime stage installs (CI runs it).
check-runtime-deps: release
	bash scripts/check-runtime-deps.sh

## Failover without loss on PostgreSQL (issue 18): a primary and a synchronous standby on
## loopback, dossierd under load, the primary killed and the standby promoted, three times.
ha-test: build certs
	bash scripts/ha-test.sh $(BIN) long

## The container image (Docker/Dockerfile) with docker, or podman (installed when neither works);
## where no registry answers, the base images are made locally (scripts/base-images.sh).
IMAGE ?= dossier:dev
image:
	bash scripts/image-build.sh $(IMAGE)

## The image's runtime stage from release binaries already built (IMAGE_BIN, default .build/release:
## make release), run hardened as docs/OPERATIONS.md section 12 says and checked from outside:
## health, the README scenario, metrics, graceful stop, restart, key refusals, compose (CI runs it).
IMAGE_BIN ?= .build/release
image-test: certs
	bash scripts/image-test.sh $(IMAGE_BIN)

## Every BENCHMARKS.md figure with its limits in one run (SCALE=100000 adds the scale figures).
bench: release
	bash scripts/bench-all.sh

## Issue 19's soak: saturation phases while the server's memory is sampled (BENCHMARKS.md);
## SOAK_MINUTES (default 7) sets its length.
soak: release certs
	bash scripts/soak.sh .build/release

## libFuzzer harnesses (Fuzz/README.md): each runs FUZZ_SECONDS (default 60) from the seed corpus.
FUZZ_SECONDS ?= 60
fuzz: deps certs
	$(SWIFT) build --package-path Fuzz --scratch-path .build-fuzz -c debug \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	mkdir -p .build-fuzz/corpus/frames .build-fuzz/corpus/requests
	.build-fuzz/debug/FuzzFrames -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  .build-fuzz/corpus/frames Fuzz/corpus/frames
	DOSSIER_CERTS=$(CERTS) .build-fuzz/debug/FuzzRequests -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  -rss_limit_mb=4096 .build-fuzz/corpus/requests Fuzz/corpus/requests

## The long crash test: 20 SIGKILLs at random moments under 4 concurrent writers.
crash-test: build certs
	bash scripts/crash-test.sh 20 4

## Only the interoperability checks (independent clients against a real dossierd).
test-interop: build
	bash scripts/interop-go.sh
	$(MAKE) -C clients/c check DOSSIERD=$(CURDIR)/$(BIN)/dossierd

check-generated:
	@bash scripts/check-generated.sh

## Regenerates Swift (messages, stubs, method tables) and C code from proto/.
generate: deps
	@bash scripts/generate.sh

clean:
	rm -rf .build
