#!/usr/bin/env python3
"""GPU anchors for kiln's training-step figures: PyTorch eager, torch.compile
and JAX jit, on the models and batch sizes of ../shared/benchmarks.md.

Each variant runs `--warmup` steps, then `--steps` steps timed as one block
ended by a device synchronisation (mean ms/step: on a GPU a per-step sync
would time the sync, not the step). Data is synthetic and already on the
device. Variants that cannot run here (no torch.compile, no JAX, no GPU) are
reported with the reason instead of a time.

usage: gpu_anchor.py [--models logreg,mlp,...] [--device cuda|cpu] [--json] [--out FILE]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The models, batch sizes and SGD settings of the CPU anchor (benchmarks.md).
from torch_anchor import MODELS, parse_models  # noqa: E402


def time_block(step, sync, warmup, steps):
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps * 1e3


def bench_torch(name, device, compiled, warmup, steps):
    import torch
    from torch import nn
    if compiled and not hasattr(torch, "compile"):
        return None, f"torch {torch.__version__} has no torch.compile"
    factory, batch, sgd_args = MODELS[name]
    torch.manual_seed(0)
    model = factory().to(device)
    opt = torch.optim.SGD(model.parameters(), **sgd_args)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def train(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = torch.compile(train) if compiled else train
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return time_block(lambda: fn(x, y), sync, warmup, steps), None


def jax_params(name, key):
    import jax
    import jax.numpy as jnp

    def dense(key, n_in, n_out):
        bound = 1.0 / n_in ** 0.5
        return (jax.random.uniform(key, (n_in, n_out), minval=-bound, maxval=bound),
                jnp.zeros((n_out,)))

    def conv(key, c_in, c_out, k):
        bound = 1.0 / (c_in * k * k) ** 0.5
        return (jax.random.uniform(key, (c_out, c_in, k, k), minval=-bound, maxval=bound),
                jnp.zeros((c_out,)))

    keys = jax.random.split(key, 5)
    if name == "logreg":
        return [dense(keys[0], 784, 10)]
    if name in ("mlp", "mlp_wide"):
        w = 512 if name == "mlp" else 4096
        return [dense(keys[0], 784, w), dense(keys[1], w, w), dense(keys[2], w, 10)]
    if name == "lenet":
        return [conv(keys[0], 1, 6, 5), conv(keys[1], 6, 16, 5), dense(keys[2], 400, 120),
                dense(keys[3], 120, 84), dense(keys[4], 84, 10)]
    return [conv(keys[0], 1, 32, 5), conv(keys[1], 32, 64, 5), dense(keys[2], 3136, 1024),
            dense(keys[3], 1024, 10)]


def jax_forward(name, params, x, key):
    import jax
    from jax import lax

    def conv(p, x, pad):
        w, b = p
        y = lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return jax.nn.relu(y + b[None, :, None, None])

    def pool(x):
        return lax.reduce_window(x, -float("inf"), lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def dense(p, x):
        return x @ p[0] + p[1]

    if name in ("lenet", "convnet"):
        pads = (2, 0) if name == "lenet" else (2, 2)
        x = pool(conv(params[0], x, pads[0]))
        x = pool(conv(params[1], x, pads[1]))
    x = x.reshape(x.shape[0], -1)
    hidden = params[2:-1] if name in ("lenet", "convnet") else params[:-1]
    for p in hidden:
        x = jax.nn.relu(dense(p, x))
    if name == "convnet":
        keep = jax.random.bernoulli(key, 0.6, x.shape)
        x = x * keep / 0.6
    return dense(params[-1], x)


def bench_jax(name, device, warmup, steps):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        return None, f"JAX not importable ({e})"
    if device == "cuda" and jax.default_backend() != "gpu":
        return None, f"JAX has no GPU backend here ({jax.default_backend()})"
    _, batch, sgd_args = MODELS[name]
    lr, momentum = sgd_args["lr"], sgd_args.get("momentum", 0.0)
    key = jax.random.PRNGKey(0)
    params = jax_params(name, key)
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
    x = jax.random.uniform(key, (batch, 1, 28, 28))
    y = jax.random.randint(key, (batch,), 0, 10)

    def loss_fn(params, x, y, key):
        logits = jax_forward(name, params, x, key)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    @jax.jit
    def train(params, velocity, x, y, key):
        key, sub = jax.random.split(key)
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y, sub)
        velocity = jax.tree_util.tree_map(lambda v, g: momentum * v + g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity)
        return params, velocity, key, loss

    state = [params, velocity, key, None]

    def step():
        state[0], state[1], state[2], state[3] = train(state[0], state[1], x, y, state[2])

    def sync():
        if state[3] is not None:
            state[3].block_until_ready()

    return time_block(step, sync, warmup, steps), None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--out", help="also rewrite this JSON file after every variant, so a "
                   "run stopped by a time limit keeps what it measured")
    args = p.parse_args()
    names = parse_models(p, args.models)
    variants = {
        "torch_eager": lambda n: bench_torch(n, args.device, False, args.warmup, args.steps),
        "torch_compile": lambda n: bench_torch(n, args.device, True, args.warmup, args.steps),
        "jax_jit": lambda n: bench_jax(n, args.device, args.warmup, args.steps),
    }
    results = {}
    for name in names:
        results[name] = {"batch": MODELS[name][1]}
        for variant, run in variants.items():
            try:
                ms, why = run(name)
            except Exception as e:  # one failing variant must not hide the others
                ms, why = None, f"{type(e).__name__}: {e}"
            results[name][variant] = round(ms, 4) if ms is not None else None
            if why:
                results[name][variant + "_skipped"] = why[:300]
            if args.out:
                with open(args.out, "w") as f:
                    json.dump(results, f, indent=2)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, r in results.items():
        cells = [f"{r[v]:.3f}" if r[v] is not None else "-" for v in variants]
        print(f"{name:9s} b{r['batch']:<5d} " + " ".join(f"{c:>10s}" for c in cells))


if __name__ == "__main__":
    sys.exit(main())
