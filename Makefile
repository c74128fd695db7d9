# tradeexec — the two commands are `make run` and `make test`.
# A fresh machine needs only Go 1.26 and make: the tools below are built from
# the Go module proxy into ./bin on first use, at the pinned versions.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go

# Pinned tool versions (change here, nowhere else).
TEMPORAL_CLI_VERSION := v1.5.1
GOSEC_VERSION        := v2.30.0
GOVULNCHECK_VERSION  := v1.9.0
# stripe-mock: Stripe's own API fake. v0.162.0 is the served version closest
# to stripe-go v76's API version (2023-10-16); v0.203.0 implements the 2026
# API, which no longer has /v1/invoices/upcoming that v76 calls.
STRIPE_MOCK_VERSION  := v0.162.0
# Kubernetes manifests (deploy/k8s) are built with kustomize and validated by
# kubeconform against schemas generated from Kubernetes' own OpenAPI document
# at K8S_VERSION (the k8s.io/kubernetes module from the Go module proxy; CI
# has no internet to fetch published schemas).
KUSTOMIZE_VERSION    := v5.8.2
KUBECONFORM_VERSION  := v0.8.0
K8S_VERSION          := v1.34.2
# The production-shaped stack (make stack): Temporal's own server with
# PostgreSQL persistence, built from the Go module proxy. v1.32.1 is the
# newest release that builds with this repository's Go (v1.32.2 asks for
# go 1.26.10).
TEMPORAL_SERVER_VERSION := v1.32.1

TEMPORAL_CLI_MODULE := github.com/temporalio/cli/cmd/temporal
GOSEC_MODULE        := github.com/securego/gosec/v2/cmd/gosec
GOVULNCHECK_MODULE  := golang.org/x/vuln/cmd/govulncheck
STRIPE_MOCK_MODULE   := github.com/stripe/stripe-mock
KUSTOMIZE_MODULE     := sigs.k8s.io/kustomize/kustomize/v5
KUBECONFORM_MODULE   := github.com/yannh/kubeconform/cmd/kubeconform
TEMPORAL_SERVER_MODULE := go.temporal.io/server/cmd/server
TEMPORAL_SQL_MODULE    := go.temporal.io/server/cmd/tools/sql

BIN     := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Tests and `tradeexec dev` find the dev server here (internal/devserver.FindBinary).
export TEMPORAL_CLI := $(BIN)/temporal
# ... and stripe-mock here (internal/billing/stripemock.FindBinary).
export STRIPE_MOCK := $(BIN)/stripe-mock

.PHONY: help
help: ## show this help
	@echo "tradeexec — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_\/.-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Start here: 'make run' (everything on this machine) and 'make test'."

# ---------------------------------------------------------------- tools
# install-tool NAME MODULE VERSION: go install MODULE@VERSION into bin/ unless
# bin/NAME exists and the stamp bin/.NAME-VERSION says it is that version.
define install-tool
	if [ -x "$(BIN)/$(1)" ] && [ -f "$(BIN)/.$(1)-$(3)" ]; then exit 0; fi; \
	echo "==> installing $(1) $(3) into bin/ (go install $(2)@$(3))"; \
	mkdir -p "$(BIN)"; \
	rm -f "$(BIN)"/.$(1)-*; \
	GOBIN="$(BIN)" $(GO) install $(2)@$(3); \
	touch "$(BIN)/.$(1)-$(3)"
endef

.PHONY: bin/temporal bin/gosec bin/govulncheck bin/stripe-mock bin/kustomize bin/kubeconform k8s-schemas bin/temporal-server bin/temporal-sql-tool
bin/temporal-server: ## build Temporal's server (PostgreSQL persistence) into bin/ (~10 CPU-minutes, once)
	@$(call install-tool,server,$(TEMPORAL_SERVER_MODULE),$(TEMPORAL_SERVER_VERSION))

bin/temporal-sql-tool:
	@$(call install-tool,sql,$(TEMPORAL_SQL_MODULE),$(TEMPORAL_SERVER_VERSION))

bin/kustomize:
	@$(call install-tool,kustomize,$(KUSTOMIZE_MODULE),$(KUSTOMIZE_VERSION))

bin/kubeconform:
	@$(call install-tool,kubeconform,$(KUBECONFORM_MODULE),$(KUBECONFORM_VERSION))

K8S_SCHEMAS := $(BIN)/k8s-schemas/$(K8S_VERSION)
k8s-schemas: ## generate strict JSON schemas of Kubernetes $(K8S_VERSION) into bin/ (from its OpenAPI document)
	@if [ -f "$(K8S_SCHEMAS)/.done" ]; then exit 0; fi; \
	echo "==> generating Kubernetes $(K8S_VERSION) schemas into bin/k8s-schemas (go mod download k8s.io/kubernetes@$(K8S_VERSION))"; \
	dir=$$(GOFLAGS=-mod=mod $(GO) mod download -json k8s.io/kubernetes@$(K8S_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	if [ -z "$$dir" ] || [ ! -f "$$dir/api/openapi-spec/swagger.json" ]; then echo "k8s-schemas: k8s.io/kubernetes@$(K8S_VERSION) has no api/openapi-spec/swagger.json" >&2; exit 1; fi; \
	rm -rf "$(K8S_SCHEMAS)"; \
	$(GO) run ./deploy/k8s/schemagen -spec "$$dir/api/openapi-spec/swagger.json" -out "$(K8S_SCHEMAS)"; \
	touch "$(K8S_SCHEMAS)/.done"
bin/temporal: ## build the pinned Temporal CLI (dev server) into bin/ (~3 min, once)
	@$(call install-tool,temporal,$(TEMPORAL_CLI_MODULE),$(TEMPORAL_CLI_VERSION))

bin/stripe-mock: ## build the pinned stripe-mock (Stripe's API fake for billing tests) into bin/
	@$(call install-tool,stripe-mock,$(STRIPE_MOCK_MODULE),$(STRIPE_MOCK_VERSION))

bin/gosec:
	@$(call install-tool,gosec,$(GOSEC_MODULE),$(GOSEC_VERSION))

bin/govulncheck:
	@$(call install-tool,govulncheck,$(GOVULNCHECK_MODULE),$(GOVULNCHECK_VERSION))

# ---------------------------------------------------------------- dashboard
# The dashboard (web/: TypeScript, Preact, lightweight-charts, built by Vite)
# is built into web/dist, which the Go binary embeds (package web). The
# lockfile web/package-lock.json pins every npm package; `npm ci` installs
# exactly it. A fresh clone compiles without it (dist/ holds .gitkeep).
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json web/package-lock.json

.PHONY: web
web: web/dist/index.html ## build the dashboard (npm ci + vite build into web/dist, embedded by the Go build)

web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make web: npm (Node.js 20+) is needed to build the dashboard" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

# Debian's Chromium for the browser tests (no browser download: the tests
# drive /usr/bin/chromium over the DevTools protocol with chromedp).
.PHONY: chromium
chromium: ## install Debian's chromium for the browser tests (apt-get, needs root)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	echo "==> installing Debian's chromium for the browser tests"; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null

# ---------------------------------------------------------------- build & run
.PHONY: build
build: web ## build bin/tradeexec (with the dashboard)
	@mkdir -p "$(BIN)"
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o "$(BIN)/tradeexec" ./cmd/tradeexec

.PHONY: run
run: build bin/temporal ## run everything locally: tradeexec dev (SQLite + embedded Temporal in .data/)
	"$(BIN)/tradeexec" dev

# The production-shaped stack: Temporal's server on PostgreSQL (databases
# $(STACK_PREFIX)*), 2 api + 2 worker processes, a round-robin proxy on
# $(STACK_ADDR). STACK_PG must be a role that may create databases.
STACK_PG     ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
STACK_ADDR   ?= 127.0.0.1:8090
STACK_PREFIX ?= tradeexec_stack
STACK_FLAGS   = -tradeexec "$(BIN)/tradeexec" -temporal-server "$(BIN)/server" -sql-tool "$(BIN)/sql" \
	-temporal-version $(TEMPORAL_SERVER_VERSION) -pg "$(STACK_PG)"

.PHONY: stack
stack: build bin/temporal-server bin/temporal-sql-tool ## run production-shaped: Temporal server on PostgreSQL, 2 api + 2 worker processes behind a round-robin proxy (state in .data/stack)
	$(GO) run ./deploy/stack $(STACK_FLAGS) -addr $(STACK_ADDR) -prefix $(STACK_PREFIX) -dir .data/stack

.PHONY: bench-stack
bench-stack: build bin/temporal-server bin/temporal-sql-tool ## the benchmarks' trade-path, fan-out and ceiling sections on the production-shaped stack (fresh databases tradeexec_bench*)
	$(GO) run ./bench -stack -only trade,fanout -stack-tradeexec "$(BIN)/tradeexec" -stack-temporal-server "$(BIN)/server" \
	  -stack-sql-tool "$(BIN)/sql" -stack-temporal-version $(TEMPORAL_SERVER_VERSION) -stack-pg "$(STACK_PG)"

.PHONY: stack-test
stack-test: build bin/temporal-server bin/temporal-sql-tool ## zero-downtime test on the stack: webhooks at 20/s while each api and worker restarts (SIGTERM), one worker SIGKILLed
	STACK_TRADEEXEC="$(BIN)/tradeexec" STACK_TEMPORAL_SERVER="$(BIN)/server" STACK_SQL_TOOL="$(BIN)/sql" \
	STACK_TEMPORAL_VERSION=$(TEMPORAL_SERVER_VERSION) STACK_PG="$(STACK_PG)" \
	$(GO) test -tags stacktest -count=1 -v -timeout 20m ./stacktest

.PHONY: run-stripe
run-stripe: build bin/temporal bin/stripe-mock ## make run with BILLING_PROVIDER=stripe against a local stripe-mock (test keys)
	@"$(BIN)/stripe-mock" -http-addr 127.0.0.1:12111 >/dev/null 2>&1 & pid=$$!; trap 'kill $$pid' EXIT; \
	BILLING_PROVIDER=stripe STRIPE_API_BASE=http://127.0.0.1:12111 STRIPE_SECRET_KEY=sk_test_dev STRIPE_WEBHOOK_SECRET=whsec_dev \
	STRIPE_PRICE_BASIC=price_basic STRIPE_PRICE_PRO=price_pro STRIPE_PRICE_PREMIUM=price_premium "$(BIN)/tradeexec" dev

# ---------------------------------------------------------------- checks
.PHONY: test
test: bin/temporal bin/stripe-mock web chromium k8s-validate ## k8s manifests validated, go vet + all tests with the race detector, on SQLite and on PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432 when reachable)
	$(GO) vet ./...
	@if [ -z "$${TEST_DATABASE_URL:-}" ]; then \
	  if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"; \
	    echo "==> PostgreSQL found at 127.0.0.1:5432: database tests run on SQLite and on PostgreSQL ($$TEST_DATABASE_URL)"; \
	  else \
	    echo "==> PostgreSQL not reachable at 127.0.0.1:5432: database tests run on SQLite only (set TEST_DATABASE_URL to use another server)"; \
	  fi; \
	else echo "==> database tests run on SQLite and on PostgreSQL ($$TEST_DATABASE_URL)"; fi; \
	echo "==> the chaos suite runs $${CHAOS_ROUNDS:-6} rounds per database here (make chaos: 30)"; \
	CHAOS_ROUNDS=$${CHAOS_ROUNDS:-6} $(GO) test -race -count=1 -timeout 45m ./...

.PHONY: k8s-validate
k8s-validate: bin/kustomize bin/kubeconform k8s-schemas ## build every kustomization in deploy/k8s and validate it strictly (kubeconform, Kubernetes $(K8S_VERSION))
	@for k in deploy/k8s/base deploy/k8s/overlays/*; do \
	  echo "==> kubeconform $$k"; \
	  "$(BIN)/kustomize" build "$$k" | "$(BIN)/kubeconform" -strict -summary -exit-on-error \
	    -schema-location '$(K8S_SCHEMAS)/{{ .ResourceKind }}{{ .KindSuffix }}.json' -; \
	done

.PHONY: bench
bench: bin/temporal web ## run the benchmarks in bench/ (performance figures of README)
	$(GO) run ./bench

.PHONY: chaos
chaos: bin/temporal ## chaos suite: 30 rounds of crashes, outages and price crashes on SQLite and a PostgreSQL of its own; prints its table
	@if [ ! -d chaos ]; then echo "make chaos: the chaos suite directory ./chaos does not exist" >&2; exit 1; fi
	@# Run from the package directory (go test's local directory mode) so the
	@# rounds and the summary table reach the terminal without -v.
	cd chaos && $(GO) test -race -count=1 -timeout 90m -run Chaos

.PHONY: audit
audit: bin/gosec bin/govulncheck ## security audit: gosec + govulncheck (govulncheck needs vuln.go.dev; AUDIT_SKIP_VULNCHECK=1 skips it, said so)
	@rc_gosec=0; rc_vuln=0; \
	echo "==> gosec $(GOSEC_VERSION)"; \
	"$(BIN)/gosec" -quiet -exclude-generated ./... || rc_gosec=$$?; \
	if [ "$${AUDIT_SKIP_VULNCHECK:-0}" != 0 ]; then \
	  rc_vuln=skip; \
	else \
	  echo "==> govulncheck $(GOVULNCHECK_VERSION)"; \
	  "$(BIN)/govulncheck" ./... || rc_vuln=$$?; \
	fi; \
	echo "==> audit summary"; \
	if [ $$rc_gosec -eq 0 ]; then echo "  gosec:       no issues"; else echo "  gosec:       FAILED (exit $$rc_gosec): findings above"; fi; \
	case $$rc_vuln in \
	  0) echo "  govulncheck: no known vulnerabilities reached";; \
	  skip) echo "  govulncheck: NOT RUN (AUDIT_SKIP_VULNCHECK set): dependencies were not checked for known vulnerabilities";; \
	  3) echo "  govulncheck: FAILED: vulnerable code reached (listed above)";; \
	  *) echo "  govulncheck: FAILED (exit $$rc_vuln): it could not complete; it downloads the vulnerability database from vuln.go.dev, so offline machines cannot run it (set GOVULNDB to a local copy, or AUDIT_SKIP_VULNCHECK=1 to audit with gosec alone)";; \
	esac; \
	[ $$rc_gosec -eq 0 ] && { [ "$$rc_vuln" = 0 ] || [ "$$rc_vuln" = skip ]; }

.PHONY: fmt
fmt: ## gofmt -s every Go file
	gofmt -s -w $$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*' -not -path './.data/*')

.PHONY: vet
vet: ## go vet ./...
	$(GO) vet ./...

.PHONY: clean
clean: ## remove build outputs (keeps the tools in bin/ and the dev state in .data/)
	rm -f "$(BIN)/tradeexec" coverage.out
	rm -rf bench/out test-artefacts
	find web/dist -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true

.PHONY: distclean
distclean: clean ## also remove bin/ (tools are rebuilt on next use) and .data/ (dev database, Temporal state, dev secrets)
	rm -rf "$(BIN)" .data
