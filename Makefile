GO      ?= go
DATA    ?= ./data
BIN     ?= bin/atrium
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build run test test-short bench fmt vet fuzz clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/atrium

# Starts a server on $(DATA), creating it (and an admin user) on first start.
run: build
	$(BIN) serve --data $(DATA)

# The whole suite. Interop tests drive real programs (ldapsearch, nslcd,
# slapadd, oathtool); they skip when those are missing, except under CI=true.
test:
	$(GO) test -timeout 15m ./...

test-short:
	$(GO) test -short -timeout 5m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

# Each fuzz target for a short while.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMessage$$' -fuzztime $(FUZZTIME) ./ldapserver
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) ./ldapserver
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./directory/password
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./ldif
	$(GO) test -run '^$$' -fuzz '^FuzzResponse$$' -fuzztime $(FUZZTIME) ./passkey
	$(GO) test -run '^$$' -fuzz '^FuzzSSO$$' -fuzztime $(FUZZTIME) ./samlidp
	$(GO) test -run '^$$' -fuzz '^FuzzAuthorizeAndToken$$' -fuzztime $(FUZZTIME) ./oidc

clean:
	rm -rf bin
