# tinyr1: the commands a researcher types. `make demo` runs the main job, `make test` the tests.
GO      ?= go
BIN     := bin/tinyr1
PKGS    := ./...
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: all build test demo reproduce crosscheck experiment slurm-test bench lint fuzz clean

all: build

# -buildvcs=auto stamps the VCS revision into the binary (checkpoints and
# manifests record it) even where GOFLAGS turns stamping off.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/tinyr1

test: lint
	$(GO) test $(TESTFLAGS) $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The main job on built-in defaults: warm start (SFT) of the small preset on a
# fixed set of 128 worked solutions per task, GRPO from it on fresh prompts of
# the levels the warm start half solves, both evaluated side by side on the
# test split, and plots. It is the experiment's seed-1 warm start and GRPO arm (the
# GRPO bits of its first edition only up to 2d0dddf, which changed how GRPO packs).
# Everything goes under $(DEMO); rerunning starts it afresh (--force).
DEMO ?= runs/demo
DEMO_SFT ?= --sft-data 128 --steps 1000
DEMO_GRPO ?= --tasks add:2,sort:1 --prompts 16 --dynamic --steps 100
demo: build
	./$(BIN) sft --out $(DEMO)/sft --force $(DEMO_SFT)
	./$(BIN) train --init $(DEMO)/sft --out $(DEMO)/grpo --force $(DEMO_GRPO)
	./$(BIN) eval $(DEMO)/sft $(DEMO)/grpo --problems 64 --n 8 --k 1,4,8 --out $(DEMO)/eval.json
	./$(BIN) report $(DEMO)/sft $(DEMO)/grpo --eval $(DEMO)/eval.json --out $(DEMO)/report
	@echo "demo: checkpoints in $(DEMO)/sft and $(DEMO)/grpo, evaluation in $(DEMO)/eval.json, plots in $(DEMO)/report"

# Reproducibility check: the demo's GRPO stage twice with the same seed and
# config must write byte-identical checkpoints (needs the demo's warm start,
# made here when missing).
reproduce: build
	test -f $(DEMO)/sft/latest || ./$(BIN) sft --out $(DEMO)/sft --force $(DEMO_SFT)
	./$(BIN) train --init $(DEMO)/sft --out $(DEMO)/repro-a --force --quiet $(DEMO_GRPO)
	./$(BIN) train --init $(DEMO)/sft --out $(DEMO)/repro-b --force --quiet $(DEMO_GRPO)
	cmp "$(DEMO)/repro-a/$$(cat $(DEMO)/repro-a/latest)" "$(DEMO)/repro-b/$$(cat $(DEMO)/repro-b/latest)"
	@echo "reproduce: the two GRPO runs wrote byte-identical checkpoints"

# Outside cross-check: export the demo's GRPO checkpoint as safetensors, rebuild
# the model in PyTorch from that file alone and compare its log-probabilities
# with tinyr1 score (bench/crosscheck.py; Debian's python3-torch).
CHECK_TEXT ?= sort asc: 5 3 9<think>min 3; min 5; min 9</think><answer>3 5 9</answer>
crosscheck: build
	./$(BIN) export $(DEMO)/grpo --format safetensors --out $(DEMO)/export
	./$(BIN) score $(DEMO)/grpo --text '$(CHECK_TEXT)' --eos > $(DEMO)/export/score.json
	/usr/bin/python3 bench/crosscheck.py $(DEMO)/export $(DEMO)/export/score.json

# The study, examples/experiment.json: a warm start on a fixed small SFT
# dataset of add, sort, countdown and kk, then from it + extra SFT
# (compute-matched), + iterated rejection sampling (compute-matched), + GRPO,
# + GRPO with the random-reward controls (rewards shuffled inside each group;
# Bernoulli(0.5) correctness), + Dr. GRPO, + GRPO with two passes (mu 2),
# + clip-higher at mu 2; three seeds each, evaluated (test, pass@k to 64,
# levels 4-5); writes runs/experiment/RESULTS.md. Rerunning skips finished
# runs and resumes interrupted ones. SWEEPFLAGS: e.g. --jobs 2 (default: cores / workers).
EXPERIMENT ?= examples/experiment.json
SWEEPFLAGS ?=
experiment: build
	./$(BIN) sweep run $(EXPERIMENT) $(SWEEPFLAGS)
	./$(BIN) sweep report $(EXPERIMENT)

# tinyr1 sweep on a real one-node Slurm cluster (root; installs slurm-wlm and
# munge when missing): a tiny sweep submitted as job arrays, one task
# requeued mid-run, every checkpoint compared with a local sweep run.
slurm-test:
	bash scripts/slurm-test.sh

# tinyr1 against the same model in PyTorch on CPU (bench/torch_bench.py, Debian's
# python3-torch with OpenBLAS, installed here when missing; never a dependency of
# tinyr1 itself). python3-torch alone brings the reference BLAS (libblas3), on
# which the harness refuses to print a PyTorch column. One table per core budget
# (default 1 and 2 cores, every part pinned with taskset), the kernels parts in 3
# rounds, the sides' order alternating, so each ratio shows its range (about 8
# minutes: 463 s at 820e29f; bench/README.md): make bench BENCHFLAGS='--cores 1'
# (BENCHFLAGS come last and win: BENCHFLAGS='--rounds 1' for one round). Kernel
# microbenchmarks: go test -bench.
BENCH_DEBS := python3-torch libopenblas0-pthread
bench: build
	@/usr/bin/python3 -c 'import torch, ctypes.util, sys; sys.exit(not ctypes.util.find_library("openblas"))' 2>/dev/null || \
	  (command -v apt-get >/dev/null && (apt-get install -y -qq $(BENCH_DEBS) || \
	    (apt-get update -qq && apt-get install -y -qq $(BENCH_DEBS)))) || \
	  echo "PyTorch with OpenBLAS unavailable: the torch column is skipped"
	$(GO) run ./cmd/tinybench --torch --out runs/bench --rounds 3 $(BENCHFLAGS)

clean:
	rm -rf bin

# A short fuzzing pass over the parsers and decoders (seed corpora live in testdata/).
FUZZTIME ?= 15s
fuzz:
	$(GO) test ./data -run '^$$' -fuzz '^FuzzExtractAnswer$$' -fuzztime $(FUZZTIME)
	$(GO) test ./data -run '^$$' -fuzz '^FuzzVerifyCountdown$$' -fuzztime $(FUZZTIME)
	$(GO) test ./checkpoints -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
