#!/usr/bin/python3
"""Checks bench/openblas_trainer.c against PyTorch, step for step.

From the same initial weights (torch.nn.Linear's seeded init) and the same
batch, runs K training steps in PyTorch (the model, loss and SGD of
bench/torch_anchor.py) and in `openblas_trainer --check`, then compares the
K losses and the final parameters. Both sum in float32 in different orders,
so they agree to about 1e-6, not bit for bit.

usage: check_openblas_trainer.py TRAINER [--models logreg,mlp] [--steps K]
Exits with 77 (ctest's SKIP_RETURN_CODE) after a "SKIP:" line without torch.
"""

import argparse
import os
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
# Largest |difference| allowed in a loss (relative) and a parameter (absolute).
LOSS_RTOL = 2e-6
PARAM_ATOL = 1e-7


def check_model(trainer, name, steps, torch, torch_anchor):
    factory, batch, sgd_args = torch_anchor.MODELS[name]
    torch.manual_seed(0)
    model = factory()
    params = list(model.parameters())
    images = torch.rand(batch, 1, 28, 28, dtype=torch.float32)
    labels = torch.randint(0, 10, (batch,), dtype=torch.int32)

    with tempfile.TemporaryDirectory() as tmp:
        given, result = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
        with open(given, "wb") as f:
            for p in params:
                f.write(p.detach().numpy().tobytes())
            f.write(images.numpy().tobytes())
            f.write(labels.numpy().tobytes())
        subprocess.run([trainer, "--check", given, result, "--model", name,
                        "--steps", str(steps)], check=True)
        with open(result, "rb") as f:
            out = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)

    opt = torch.optim.SGD(model.parameters(), **sgd_args)
    loss_fn = torch.nn.CrossEntropyLoss()
    torch_losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels.long())
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())

    expected = steps + sum(p.numel() for p in params)
    if out.numel() != expected:
        print(f"FAIL {name}: trainer wrote {out.numel()} floats, expected {expected}")
        return False
    ok = True
    for i, (blas, ref) in enumerate(zip(out[:steps].tolist(), torch_losses)):
        rel = abs(blas - ref) / abs(ref)
        print(f"{name} step {i}: loss openblas {blas:.7f} torch {ref:.7f} "
              f"rel diff {rel:.2e}")
        ok &= rel <= LOSS_RTOL
    offset = steps
    names = [n for n, _ in model.named_parameters()]
    for pname, p in zip(names, params):
        blas = out[offset:offset + p.numel()].view_as(p)
        offset += p.numel()
        diff = (blas - p.detach()).abs().max().item()
        print(f"{name} {pname}: max |openblas - torch| {diff:.2e}")
        ok &= diff <= PARAM_ATOL
    if not ok:
        print(f"FAIL {name}: differs from torch by more than "
              f"{LOSS_RTOL:g} (loss, relative) or {PARAM_ATOL:g} (parameters)")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trainer", help="path of the built openblas_trainer")
    p.add_argument("--models", default="logreg,mlp")
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"SKIP: torch is not available ({e})")
        return SKIP
    sys.path.insert(0, HERE)
    import torch_anchor
    torch.set_num_threads(1)
    results = [check_model(args.trainer, m, args.steps, torch, torch_anchor)
               for m in args.models.split(",")]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
