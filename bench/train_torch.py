#!/usr/bin/python3
"""train_torch.py — the PyTorch peer of attnviz's trainer benchmark (bench/model_run.mjs).

    /usr/bin/python3 bench/train_torch.py SHAPE THREADS

Debian's python3-torch, CPU. A nanoGPT-shaped model (model.py's CausalSelfAttention, MLP, Block,
GPT without dropout: learned positions, pre-LayerNorm blocks, attention written out as nanoGPT's
non-flash path, MLP C -> 4C with nn.GELU() (erf) -> C, final LayerNorm, lm_head tied to wte),
trained as nanoGPT's train.py: AdamW (betas 0.9/0.99, weight decay 0.1 on 2-D tensors),
clip_grad_norm_(1.0). One step = forward, loss, backward, clip, optimizer.step, zero_grad.

Line protocol (the same as attnviz-model-bench serve): one JSON line {"ready": ...} after
start; each "step" line on stdin runs one step and prints {"ms", "loss"}; "quit" stops.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F

# Keep in step with bench/model_bench.cpp's kTrainShapes.
SHAPES = {
    "shipped": dict(n_layer=4, n_head=4, n_embd=128, block_size=512, vocab_size=4071, batch=8),
    "issue": dict(n_layer=4, n_head=4, n_embd=128, block_size=128, vocab_size=2000, batch=16),
    "smoke": dict(n_layer=2, n_head=2, n_embd=32, block_size=32, vocab_size=100, batch=4),
}


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.n_embd = c["n_head"], c["n_embd"]
        self.c_attn = nn.Linear(self.n_embd, 3 * self.n_embd)
        self.c_proj = nn.Linear(self.n_embd, self.n_embd)
        T = c["block_size"]
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"])

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocab_size"], c["n_embd"]),
            wpe=nn.Embedding(c["block_size"], c["n_embd"]),
            h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
            ln_f=nn.LayerNorm(c["n_embd"]),
        ))
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * c["n_layer"]) if name.endswith("c_proj.weight") else 0.02
                torch.nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx, targets):
        B, T = idx.size()
        pos = torch.arange(0, T, dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit("usage: train_torch.py shipped|issue|smoke THREADS")
    c, threads = SHAPES[sys.argv[1]], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(1337)
    model = GPT(c)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    B, T, V = c["batch"], c["block_size"], c["vocab_size"]
    stream = torch.randint(2, V, (1 << 17,), generator=torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(1337)
    n_params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"ready": True, "parameters": n_params, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if line.startswith("quit"):
            break
        if not line.startswith("step"):
            continue
        t0 = time.perf_counter()
        starts = torch.randint(0, len(stream) - T - 1, (B,), generator=gen)
        x = torch.stack([stream[s:s + T] for s in starts])
        y = torch.stack([stream[s + 1:s + 1 + T] for s in starts])
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ms = (time.perf_counter() - t0) * 1e3
        print(json.dumps({"ms": ms, "loss": loss.item()}), flush=True)


if __name__ == "__main__":
    main()
