# tinyr1: the commands a researcher types. `make demo` runs the main job, `make test` the tests.
GO      ?= go
BIN     := bin/tinyr1
PKGS    := ./...
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: all build test demo bench lint fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tinyr1

test: lint
	$(GO) test $(TESTFLAGS) $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

demo: build
	./$(BIN) tasks list
	./$(BIN) tasks show --family add --level 2 --n 2 --seed 1

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
