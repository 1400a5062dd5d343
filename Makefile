# fieldgate — the two commands of the README, and a few helpers.
SHELL := /bin/bash
GO    ?= go

.PHONY: console node-deps run test test-ejabberd test-short build vet bench bench-e2e clean services-stop photos faults

## console: the dispatcher console's pinned browser libraries (npm ci), copied
## into api/console/web/static/vendor/ where the binary embeds them
CONSOLE_WEB := api/console/web
console: $(CONSOLE_WEB)/static/vendor/leaflet.js
$(CONSOLE_WEB)/static/vendor/leaflet.js: $(CONSOLE_WEB)/package-lock.json $(CONSOLE_WEB)/build.mjs
	cd $(CONSOLE_WEB) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && node build.mjs

## run: start PostgreSQL, Prosody, MinIO and the gateway with the demo town (Ctrl-C stops all)
run: console
	deploy/run-local

## test: start the real services under ./var/test and run every test (race detector on)
test: node-deps console
	deploy/dev/services start $(CURDIR)/var/test test
	set -a; source var/test/env; set +a; \
	  $(GO) test -race -count=1 -timeout 20m ./... ; rc=$$?; \
	  $(MAKE) --no-print-directory test-ejabberd || rc=1; \
	  deploy/dev/services stop $(CURDIR)/var/test >/dev/null || true; exit $$rc

## test-ejabberd: the XMPP suite again, against ejabberd 23.01 instead of Prosody: every test
## of the packages that talk XMPP (cmd/fieldgate, gateway, internal/testsvc), with the
## helpers in internal/testsvc knowing which server they talk to (deploy/dev/ejabberd runs
## deploy/ejabberd.yml.snippet's settings; deploy/ejabberd_test.go proves it), and the server
## checks of deploy/ (TestXMPPServer*: ejabberd's sockets without Nagle's algorithm)
## (needs the services of `make test` running; starts and stops ejabberd itself)
## Every test runs there; EJABBERD_SKIP can leave some out by name (a -skip pattern).
EJABBERD_PKGS ?= ./cmd/fieldgate/ ./gateway/... ./internal/testsvc/
EJABBERD_SKIP ?= ^$$
test-ejabberd:
	deploy/dev/ejabberd start $(CURDIR)/var/test
	set -a; source var/test/env; source var/test/ejabberd.env; set +a; t0=$$SECONDS; \
	  $(GO) test -race -count=1 -timeout 20m -skip '$(EJABBERD_SKIP)' $(EJABBERD_PKGS) ; rc=$$?; \
	  $(GO) test -race -count=1 -run '^TestXMPPServer' ./deploy/ || rc=1; \
	  echo "test-ejabberd: $$((SECONDS - t0)) s"; \
	  deploy/dev/ejabberd stop $(CURDIR)/var/test || true; exit $$rc

## node-deps: the pinned npm packages tests drive (the third-party Open311 client)
node-deps:
	cd api/open311/nodeclient && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

## faults: the fault suite's full form (300 reports per scenario, 20 kill rounds; about 20 minutes);
## its table goes into deploy/SCALING.md. A short form runs under make test.
faults:
	deploy/dev/services start $(CURDIR)/var/test test
	set -a; source var/test/env; set +a; \
	  FIELDGATE_FAULTS=full $(GO) test -count=1 -timeout 60m -run 'TestRoomPostOnce|TestFault' -v ./cmd/fieldgate/ 2>&1 | \
	  grep -v 'level=' | tee var/faults.log; rc=$${PIPESTATUS[0]}; \
	  deploy/dev/services stop $(CURDIR)/var/test >/dev/null || true; exit $$rc

## test-short: unit tests only, no services
test-short:
	$(GO) test -short -count=1 ./...

build: console
	deploy/dev/services install
	$(GO) build -o bin/fieldgate ./cmd/fieldgate

## vet: go vet, staticcheck (a tool in go.mod) and gofmt; CI runs it before make test
vet: console
	deploy/dev/services install
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./routing/ ./media/

## bench-e2e: fieldgate bench end to end with the standard loads of deploy/SCALING.md
## (own services at port offset FIELDGATE_BENCH_PORT_OFFSET, default 100; about 10 minutes);
## results in var/bench/ (table.md, results.json, samples.csv, plot-*.png)
bench-e2e: console
	deploy/dev/bench

## photos: redraw testdata/photos and expected.tsv (needs ImageMagick and exiftool; outputs are committed)
photos:
	testdata/photos/make.sh

services-stop:
	deploy/dev/services stop $(CURDIR)/var/test || true
	deploy/dev/services stop $(CURDIR)/var/dev || true

clean: services-stop
	rm -rf bin var
