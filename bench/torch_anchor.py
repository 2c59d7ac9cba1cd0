#!/usr/bin/python3
"""PyTorch anchor for kiln's training-step benchmarks.

Times one SGD training step (forward + backward + optimizer step) of the same
models kiln compiles, on the same shapes, so kiln's numbers have a reference
point. Data is synthetic: step time does not depend on pixel values, and it
keeps data loading out of the measurement. On a small shared machine, run it
while nothing else is: with two torch threads a step stalls whenever either
core is busy, and medians can jump several-fold.

Run with Debian's interpreter, which has torch (the `python3` on PATH may not):
    /usr/bin/python3 bench/torch_anchor.py --models logreg,mlp --steps 200 --json
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

import torch
from torch import nn

# name -> (model factory, batch size, SGD keyword arguments), as
# ../shared/benchmarks.md defines them and examples/fashion_mnist compiles them.
MODELS = {
    "logreg": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10)),
               128, dict(lr=0.1)),
    "mlp": (lambda: nn.Sequential(nn.Flatten(),
                                  nn.Linear(784, 512), nn.ReLU(),
                                  nn.Linear(512, 512), nn.ReLU(),
                                  nn.Linear(512, 10)),
            128, dict(lr=0.05, momentum=0.9)),
    "mlp_wide": (lambda: nn.Sequential(nn.Flatten(),
                                       nn.Linear(784, 4096), nn.ReLU(),
                                       nn.Linear(4096, 4096), nn.ReLU(),
                                       nn.Linear(4096, 10)),
                 1024, dict(lr=0.05, momentum=0.9)),
    "lenet": (lambda: nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),
                                    nn.MaxPool2d(2),
                                    nn.Conv2d(6, 16, 5), nn.ReLU(),
                                    nn.MaxPool2d(2), nn.Flatten(),
                                    nn.Linear(400, 120), nn.ReLU(),
                                    nn.Linear(120, 84), nn.ReLU(),
                                    nn.Linear(84, 10)),
              128, dict(lr=0.05, momentum=0.9)),
    "convnet": (lambda: nn.Sequential(nn.Conv2d(1, 32, 5, padding="same"),
                                      nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 5, padding="same"),
                                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                      nn.Linear(3136, 1024), nn.ReLU(),
                                      nn.Dropout(0.4), nn.Linear(1024, 10)),
                64, dict(lr=0.01, momentum=0.9)),
}


def parse_models(parser, text):
    """The model names of a comma-separated --models, checked."""
    names = [m for m in text.split(",") if m]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        parser.error("unknown model(s): " + ",".join(unknown))
    return names


def bench(name, steps, warmup):
    """Returns the median wall time in ms of `steps` training steps."""
    factory, batch, sgd_args = MODELS[name]
    model = factory()
    opt = torch.optim.SGD(model.parameters(), **sgd_args)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 28, 28, dtype=torch.float32)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="logreg,mlp,lenet,convnet",
                   help="comma-separated subset of: " + ",".join(MODELS))
    p.add_argument("--steps", type=int, default=200,
                   help="timed steps per model (200 or more for a stable "
                   "median; fewer only for mlp_wide's second-long steps and "
                   "smoke tests)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed steps first (default: a tenth of --steps, "
                   "at most 20, as kiln_step_bench)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="torch.set_num_threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    args = p.parse_args()
    names = parse_models(p, args.models)
    if args.steps < 1 or args.threads < 1:
        p.error("--steps and --threads must be positive")
    if args.warmup is None:
        args.warmup = min(20, max(1, args.steps // 10))

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {}
    for name in names:
        ms = bench(name, args.steps, args.warmup)
        batch = MODELS[name][1]
        results[name] = {"median_ms": round(ms, 4), "batch": batch,
                         "samples_per_s": round(batch / (ms / 1e3), 1),
                         "threads": torch.get_num_threads()}

    # Debian's torch may be built against reference BLAS, which makes the
    # anchor several times slower than a pip wheel; say so where it's seen.
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    blas = blas.group(1) if blas else "unknown"
    if args.json:
        print(json.dumps(results, indent=2))
        if blas == "generic":
            print("note: torch uses generic (reference) BLAS", file=sys.stderr)
    else:
        print(f"torch {torch.__version__} (BLAS {blas}), "
              f"{torch.get_num_threads()} threads, "
              f"median of {args.steps} steps")
        for name, r in results.items():
            print(f"{name:8s} batch {r['batch']:4d} {r['median_ms']:9.3f} ms/step "
                  f"{r['samples_per_s']:12.0f} samples/s")


if __name__ == "__main__":
    main()
