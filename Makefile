# fieldgate — the two commands of the README, and a few helpers.
SHELL := /bin/bash
GO    ?= go

.PHONY: node-deps run test test-short build vet bench clean services-stop photos

## run: start PostgreSQL, Prosody, MinIO and the gateway with the demo town (Ctrl-C stops all)
run:
	deploy/run-local

## test: start the real services under ./var/test and run every test (race detector on)
test: node-deps
	deploy/dev/services start $(CURDIR)/var/test test
	set -a; source var/test/env; set +a; \
	  $(GO) test -race -count=1 -timeout 20m ./... ; rc=$$?; \
	  deploy/dev/services stop $(CURDIR)/var/test >/dev/null || true; exit $$rc

## node-deps: the pinned npm packages tests drive (the third-party Open311 client)
node-deps:
	cd api/open311/nodeclient && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

## test-short: unit tests only, no services
test-short:
	$(GO) test -short -count=1 ./...

build:
	deploy/dev/services install
	$(GO) build -o bin/fieldgate ./cmd/fieldgate

vet:
	deploy/dev/services install
	$(GO) vet ./...
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./routing/ ./media/

## photos: redraw testdata/photos and expected.tsv (needs ImageMagick and exiftool; outputs are committed)
photos:
	testdata/photos/make.sh

services-stop:
	deploy/dev/services stop $(CURDIR)/var/test || true
	deploy/dev/services stop $(CURDIR)/var/dev || true

clean: services-stop
	rm -rf bin var
