#!/usr/bin/python3
"""PyTorch twin of tinyr1's model, for `make bench` (cmd/tinybench).

The same GPT as tinyr1/model, same shapes, weights stored (in, out) with
y = x @ W + b: token + learned position embeddings, pre-LayerNorm blocks
(eps 1e-5), causal multi-head attention with a fused qkv weight (D, 3D),
tanh-GELU MLP, final LayerNorm, output head tied to the token embedding
(logits = x @ wte^T).

It times, on CPU with torch.set_num_threads(--threads):
  rollout_b{1,16,64}  KV-cache sampling: 16-token prompt, 64 new tokens,
                      multinomial at temperature 1, log-prob and entropy of
                      each drawn token (what tinyr1's Engine.Generate returns)
  score               log p(x[t+1] | x[:t+1]) of 64 sequences of 128 tokens
  train               forward, cross-entropy on B*T = 2048 tokens, backward,
                      grad-norm clip 1, AdamW (betas 0.9/0.95, wd 0.1)
Each figure is the median of --runs timed runs after one warm-up. Output:
one JSON object on stdout in cmd/tinybench's result format, with "blas":
which BLAS the process loaded and how many threads each pool runs (see
blas_report); with --probe only that report, after one matmul.

Threads: --threads is torch.set_num_threads (ATen's intra-op OpenMP pool).
Debian's torch calls sgemm_ in whatever libblas.so.3 the alternatives
system points to; OpenBLAS sizes its own pthread pool once, when it is
loaded, from OPENBLAS_NUM_THREADS (default: every core), and
torch.set_num_threads does not change it. So cmd/tinybench sets
OPENBLAS_NUM_THREADS in the environment and checks the count reported here.

Debian's python3-torch (1.13) is enough; it is never a runtime dependency
of tinyr1. Run with /usr/bin/python3 (the pyenv python has no torch).
"""

import argparse
import json
import math
import os
import re
import resource
import statistics
import sys
import time

PRESETS = {
    # name: (dim, layers, heads, mlp, context); vocab comes from --vocab
    "tiny": (16, 2, 2, 32, 64),
    "small": (128, 4, 4, 512, 256),
    "medium": (256, 6, 8, 1024, 256),
}
TRAIN_SHAPE = {"tiny": (32, 64), "small": (32, 64), "medium": (16, 128)}  # (B, T), B*T = 2048
PROMPT_LEN, MAX_NEW = 16, 64
SCORE_B, SCORE_T = 64, 128


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="small", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=103)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--probe", action="store_true", help="print only the BLAS report (after one matmul)")
    args = ap.parse_args()
    if args.runs < 1 or args.threads < 1 or args.vocab < 2:
        ap.error("--runs and --threads want >= 1, --vocab >= 2")
    return args


def build(torch, vocab, dim, layers, heads, mlp, context):
    nn, F = torch.nn, torch.nn.functional

    def linear(n_in, n_out, std):
        w = nn.Parameter(torch.randn(n_in, n_out) * std)  # (in, out)
        b = nn.Parameter(torch.zeros(n_out))
        return w, b

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            proj_std = 0.02 / math.sqrt(2 * layers)
            self.ln1 = nn.LayerNorm(dim, eps=1e-5)
            self.wqkv, self.bqkv = linear(dim, 3 * dim, 0.02)
            self.wo, self.bo = linear(dim, dim, proj_std)
            self.ln2 = nn.LayerNorm(dim, eps=1e-5)
            self.w1, self.b1 = linear(dim, mlp, 0.02)
            self.w2, self.b2 = linear(mlp, dim, proj_std)

        def forward(self, x, cache=None, pos=0):
            # x: (B, T, D); cache: (k, v) each (B, H, maxLen, hs) or None
            B, T, D = x.shape
            hs = D // heads
            qkv = torch.addmm(self.bqkv, self.ln1(x).view(B * T, D), self.wqkv).view(B, T, 3, heads, hs)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, T, hs)
            if cache is not None:
                ck, cv = cache
                ck[:, :, pos:pos + T] = k
                cv[:, :, pos:pos + T] = v
                k, v = ck[:, :, :pos + T], cv[:, :, :pos + T]
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, H, T, pos+T)
            if T > 1:
                S = k.shape[2]
                mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
                att = att.masked_fill(~mask, float("-inf"))
            y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B * T, D)  # (B*T, D)
            x = x + torch.addmm(self.bo, y, self.wo).view(B, T, D)
            h = F.gelu(torch.addmm(self.b1, self.ln2(x).view(B * T, D), self.w1), approximate="tanh")
            return x + torch.addmm(self.b2, h, self.w2).view(B, T, D)

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Parameter(torch.randn(vocab, dim) * 0.02)
            self.wpe = nn.Parameter(torch.randn(context, dim) * 0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.lnf = nn.LayerNorm(dim, eps=1e-5)

        def forward(self, idx, caches=None, pos=0):
            # idx: (B, T) -> logits (B, T, V)
            T = idx.shape[1]
            x = self.wte[idx] + self.wpe[pos:pos + T]
            for l, blk in enumerate(self.blocks):
                x = blk(x, None if caches is None else caches[l], pos)
            return self.lnf(x) @ self.wte.t()  # tied head

    return GPT()


BLAS_NAMES = ("blas", "lapack", "mkl", "blis", "atlas")


def blas_report(torch):
    """Which BLAS this process really loaded, read after a matmul.

    sgemm: the real path of the library whose sgemm_ torch's matmuls call:
    libtorch_cpu's own lookup (dlsym on its handle), located with dladdr.
    Debian's libtorch links libblas.so.3 and liblapack.so.3, two
    alternatives that can point to different BLAS; with the reference
    libblas and OpenBLAS's liblapack, OpenBLAS is mapped but sgemm_ is the
    reference one, so what is mapped alone does not tell.
    libs: every mapped file of /proc/self/maps whose name holds blas,
    lapack, mkl, blis or atlas, with its real path (Debian's reference BLAS
    is .../blas/libblas.so.3.*, OpenBLAS .../openblas-pthread/...).
    openblas_config and openblas_threads come from OpenBLAS itself
    (openblas_get_config, openblas_get_num_threads through ctypes), empty
    and -1 where no OpenBLAS is loaded. torch_blas_info is BLAS_INFO from
    torch.__config__.show() (a build setting: "generic" means libblas.so.3).
    """
    import ctypes

    a = torch.ones(64, 64)
    (a @ a).sum().item()  # load and run the BLAS
    libs, seen = [], set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6:
                    continue
                path = parts[5]
                name = os.path.basename(path).lower()
                if path in seen or not any(k in name for k in BLAS_NAMES):
                    continue
                seen.add(path)
                libs.append({"mapped": path, "real": os.path.realpath(path)})
    except OSError:
        pass
    config, threads = "", -1
    for lib in libs:
        try:
            h = ctypes.CDLL(lib["mapped"])  # already loaded: the same handle
            get_config, get_threads = h.openblas_get_config, h.openblas_get_num_threads
        except (OSError, AttributeError):
            continue
        get_config.restype = ctypes.c_char_p
        config, threads = get_config().decode(), int(get_threads())
        break
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    info = m.group(1) if m else ""
    env = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")
           if k in os.environ}
    return {
        "sgemm": sgemm_library(ctypes, libs),
        "libs": libs,
        "openblas_config": config,
        "openblas_threads": threads,
        "torch_threads": torch.get_num_threads(),
        "torch_blas_info": info,
        "affinity": sorted(os.sched_getaffinity(0)),
        "env": env,
    }


def sgemm_library(ctypes, libs):
    """The real path of the library that defines the sgemm_ libtorch_cpu
    calls, or "" where it cannot be found (a torch with a static BLAS)."""

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    try:
        with open("/proc/self/maps") as f:
            torch_cpu = next(line.split()[5] for line in f if "libtorch_cpu" in line)
        addr = ctypes.cast(ctypes.CDLL(torch_cpu).sgemm_, ctypes.c_void_p).value
        info = DlInfo()
        if not ctypes.CDLL(None).dladdr(ctypes.c_void_p(addr), ctypes.byref(info)) or not info.dli_fname:
            return ""
        return os.path.realpath(info.dli_fname.decode())
    except (OSError, AttributeError, StopIteration, IndexError):
        return ""


def median_of(fn, runs):
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def stat(samples, unit):
    return {"median": statistics.median(samples), "samples": samples, "unit": unit}


def main():
    args = parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"torch_bench: cannot import torch ({e}): install Debian's python3-torch", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    blas = blas_report(torch)
    if args.probe:
        json.dump({"impl": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                   "blas": blas, "metrics": {}}, sys.stdout)
        print()
        return 0
    torch.manual_seed(args.seed)
    dim, layers, heads, mlp, context = PRESETS[args.preset]
    V = args.vocab
    model = build(torch, V, dim, layers, heads, mlp, context)
    F = torch.nn.functional
    metrics = {}

    # Rollouts: prefill the prompt into a KV cache, then one token per step.
    hs = dim // heads
    for B in (1, 16, 64):
        prompt = torch.randint(0, V, (B, PROMPT_LEN))
        caches = [(torch.zeros(B, heads, context, hs), torch.zeros(B, heads, context, hs)) for _ in range(layers)]
        gen = torch.Generator().manual_seed(args.seed)

        @torch.inference_mode()
        def rollout():
            toks = torch.empty(B, MAX_NEW, dtype=torch.long)
            logp = torch.empty(B, MAX_NEW)
            ent = torch.empty(B, MAX_NEW)
            logits = model(prompt, caches, 0)[:, -1]  # (B, V)
            pos = PROMPT_LEN
            for t in range(MAX_NEW):
                lsm = F.log_softmax(logits, dim=-1)  # temperature 1
                nxt = torch.multinomial(lsm.exp(), 1, generator=gen)  # (B, 1)
                toks[:, t] = nxt[:, 0]
                logp[:, t] = lsm.gather(1, nxt)[:, 0]
                ent[:, t] = -(lsm.exp() * lsm).sum(-1)
                if t + 1 < MAX_NEW:
                    logits = model(nxt, caches, pos)[:, -1]
                    pos += 1
            return toks

        ts = median_of(rollout, args.runs)
        metrics[f"rollout_b{B}"] = stat([B * MAX_NEW / t for t in ts], "tok/s")

    # Scoring: log-probs of the next token at every position but the last.
    seqs = torch.randint(0, V, (SCORE_B, SCORE_T))

    @torch.inference_mode()
    def score():
        lsm = F.log_softmax(model(seqs[:, :-1]), dim=-1)  # (B, T-1, V)
        return lsm.gather(2, seqs[:, 1:, None])[..., 0]

    ts = median_of(score, args.runs)
    metrics["score"] = stat([SCORE_B * (SCORE_T - 1) / t for t in ts], "tok/s")

    # Training step: the same work as model.Graph.Step + model.AdamW.Update.
    B, T = TRAIN_SHAPE[args.preset]
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n not in ("wte", "wpe")]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n not in ("wte", "wpe"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)

    def train():
        loss = F.cross_entropy(model(x).view(B * T, V), y.view(B * T))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    ts = median_of(train, args.runs)
    metrics["train_ms"] = stat([1000 * t for t in ts], "ms")
    metrics["train_tok_s"] = stat([B * T / t for t in ts], "tok/s")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    metrics["peak_rss"] = stat([peak], "MiB")
    out = {
        "impl": "pytorch",
        "version": torch.__version__,
        "preset": args.preset,
        "threads": torch.get_num_threads(),
        "runs": args.runs,
        "params": sum(p.numel() for p in model.parameters()),
        "load1": os.getloadavg()[0],
        "blas": blas,
        "metrics": metrics,
    }
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
