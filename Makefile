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

# tinyr1 against the same model in PyTorch on CPU (bench/torch_bench.py, Debian's
# python3-torch, installed here when missing; never a dependency of tinyr1 itself).
# Extra flags: make bench BENCHFLAGS='--threads 2'. Kernel microbenchmarks: go test -bench.
bench: build
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || \
	  (command -v apt-get >/dev/null && (apt-get install -y -qq python3-torch || \
	    (apt-get update -qq && apt-get install -y -qq python3-torch))) || \
	  echo "PyTorch unavailable: the torch column is skipped"
	$(GO) run ./cmd/tinybench --torch --out runs/bench $(BENCHFLAGS)

clean:
	rm -rf bin
