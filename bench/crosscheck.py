#!/usr/bin/env python3
"""Cross-check tinyr1 against PyTorch from outside.

Reads an export (tinyr1 export CKPT --format safetensors --out DIR) with nothing
but the safetensors layout and NumPy, runs the architecture in PyTorch, and
compares per-token log-probabilities with `tinyr1 score` on the same text.

    /usr/bin/python3 bench/crosscheck.py DIR SCORE_JSON

SCORE_JSON is one line of `tinyr1 score CKPT --text TEXT --eos`. Exits 1 when
the largest difference exceeds 1e-4. Needs NumPy and PyTorch (Debian's
python3-torch); never a dependency of tinyr1.
"""
import json
import math
import struct
import sys

import numpy as np
import torch


def load_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"]).astype(np.float32))
    return out


def forward(w, cfg, ids):
    D, H = cfg["dim"], cfg["heads"]
    hd = D // H
    T = len(ids)
    x = w["wte"][ids] + w["wpe"][:T]
    ln = lambda x, g, b: torch.nn.functional.layer_norm(x, (D,), w[g], w[b], eps=1e-5)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(cfg["layers"]):
        p = f"h.{l}."
        qkv = ln(x, p + "ln1.g", p + "ln1.b") @ w[p + "attn.wqkv"] + w[p + "attn.bqkv"]
        q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(T, H, hd).transpose(0, 1) for i in range(3))
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(T, D)
        x = x + y @ w[p + "attn.wo"] + w[p + "attn.bo"]
        h = ln(x, p + "ln2.g", p + "ln2.b") @ w[p + "mlp.w1"] + w[p + "mlp.b1"]
        x = x + torch.nn.functional.gelu(h, approximate="tanh") @ w[p + "mlp.w2"] + w[p + "mlp.b2"]
    x = ln(x, "lnf.g", "lnf.b")
    head = w["wte"].T if cfg["tied"] else w["head"]
    return torch.log_softmax(x @ head, -1)


def main():
    d, score = sys.argv[1], json.loads(open(sys.argv[2]).readline())
    cfg = json.load(open(f"{d}/config.json"))
    w = {k: v.double() for k, v in load_safetensors(f"{d}/model.safetensors").items()}
    ids = [1] + score["ids"]  # BOS, then the scored tokens
    lp = forward(w, cfg, torch.tensor(ids[:-1]))
    ours = lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].numpy()
    diff = np.abs(ours - np.array(score["logprobs"], dtype=np.float64)).max()
    print(json.dumps({"tokens": len(ids) - 1, "max_abs_diff": float(diff), "total_torch": float(ours.sum()),
                      "total_tinyr1": score["total"]}))
    sys.exit(0 if diff < 1e-4 else 1)


if __name__ == "__main__":
    main()
