#!/usr/bin/env python3
"""End-to-end checks of kiln's safetensors checkpoints (docs/checkpoints.md).

usage:
  checkpoint_torch_test.py resume TRAINER [TRAINER ARGS...]
      Trains 2 epochs in one run, and 1 epoch with --save followed by
      --resume up to epoch 2, and checks that both print the same epoch-2
      train loss and test accuracy (full precision) and end in the same state.
      Needs no torch.
  checkpoint_torch_test.py torch LOGREG_TRAINER MLP_TRAINER DATA_DIR
      Loads kiln checkpoints into PyTorch modules with load_state_dict(
      strict=True) and checks that both compute the same test-set logits;
      then fine-tunes in PyTorch, writes a safetensors file by hand, and
      checks that kiln (--init-from, --epochs 0) gets the same logits and
      accuracy. Needs torch, but not the safetensors package; exits with 77
      (ctest SKIP_RETURN_CODE) after a "SKIP:" line if torch is missing.
  checkpoint_torch_test.py finetune MLP_TRAINER FINETUNE_TRAINER
      Trains the mlp one epoch, loads its backbone into mlp_finetune (new
      head, frozen fc1/fc2) with --init-from --partial, trains the head one
      epoch and checks the report of skipped tensors, that the backbone is
      bit-identical afterwards, that only the head has optimizer state, and
      the accuracy; and that the head's observed output gradient
      (--dump-observations) is cross-entropy's (softmax - onehot) / batch.
      Needs no torch.
"""
import gzip
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

SKIP = 77


def run(cmd):
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout)
        print(proc.stderr, file=sys.stderr)
        sys.exit(f"FAIL: {cmd[0]} exited with {proc.returncode}")
    return proc.stdout


def final_lines(out, epoch):
    """The epoch's summary (without its timing) and the final accuracy line."""
    done = re.search(rf"^(epoch {epoch}/\d+ done: .*) \(\d+\.\d s\)$", out, re.M)
    final = re.search(r"^final test accuracy: .*$", out, re.M)
    if not done or not final:
        sys.exit(f"FAIL: no 'epoch {epoch}/.. done' or final accuracy line in:\n{out}")
    return [done.group(1), final.group(0)]


def read_safetensors_raw(path):
    """(header dict without __metadata__, metadata, data bytes)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    metadata = header.pop("__metadata__", {})
    return header, metadata, blob[8 + n:]


def check_resume(trainer, args):
    with tempfile.TemporaryDirectory(prefix="kiln_resume_") as work:
        full, part = os.path.join(work, "full.safetensors"), os.path.join(work, "part.safetensors")
        common = ["--seed", "3", "--log-every", "0", "--full-precision"] + args
        straight = run([trainer, "--epochs", "2", "--save", full] + common)
        run([trainer, "--epochs", "1", "--save", part] + common)
        resumed = run([trainer, "--epochs", "2", "--resume", part, "--save", part] + common)
        if "resuming: " + part + " after epoch 1" not in resumed:
            sys.exit("FAIL: the resumed run did not report resuming after epoch 1")
        if re.search(r"^epoch 1/", resumed, re.M):
            sys.exit("FAIL: the resumed run repeated epoch 1")
        expected, got = final_lines(straight, 2), final_lines(resumed, 2)
        print("uninterrupted:", expected)
        print("resumed:      ", got)
        if expected != got:
            sys.exit("FAIL: the resumed run differs from the uninterrupted one")
        a, b = read_safetensors_raw(full), read_safetensors_raw(part)
        if a[0] != b[0] or a[2] != b[2]:
            sys.exit("FAIL: the final states (tensor data) differ")
        if a[1] != b[1]:
            sys.exit(f"FAIL: the final metadata differ: {a[1]} vs {b[1]}")
        print(f"OK: resumed run matches bit for bit ({len(a[0])} tensors, {len(a[2])} bytes)")


def tensor_bytes(checkpoint, name):
    header, _, data = checkpoint
    begin, end = header[name]["data_offsets"]
    return data[begin:end]


def check_finetune(mlp_trainer, finetune_trainer):
    with tempfile.TemporaryDirectory(prefix="kiln_finetune_") as work:
        base, tuned = os.path.join(work, "mlp.safetensors"), os.path.join(work, "ft.safetensors")
        common = ["--seed", "1", "--log-every", "0"]
        run([mlp_trainer, "--epochs", "1", "--save", base] + common)
        strict = subprocess.run([finetune_trainer, "--epochs", "0", "--init-from", base],
                                capture_output=True, text=True)
        if strict.returncode == 0 or "missing tensor 'head.weight'" not in strict.stderr:
            sys.exit(f"FAIL: a strict load of the mlp into the new head must fail naming "
                     f"head.weight; got {strict.returncode}: {strict.stderr}")
        observed = os.path.join(work, "observed.safetensors")
        out = run([finetune_trainer, "--epochs", "1", "--init-from", base, "--partial",
                   "--save", tuned, "--dump-observations", observed] + common)
        report = "partial load: kept initialization of head.weight, head.bias; " \
                 "ignored fc3.weight, fc3.bias"
        if report not in out:
            sys.exit(f"FAIL: expected '{report}' in:\n{out}")
        a, b = read_safetensors_raw(base), read_safetensors_raw(tuned)
        for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]:
            if tensor_bytes(a, name) != tensor_bytes(b, name):
                sys.exit(f"FAIL: frozen {name} changed during fine-tuning")
        buffers = sorted(n for n in b[0] if n.endswith(".momentum_buffer"))
        if buffers != ["head.bias.momentum_buffer", "head.weight.momentum_buffer"]:
            sys.exit(f"FAIL: only the head should have optimizer state, got {buffers}")
        accuracy = float(re.search(r"^final test accuracy: ([0-9.]+)$", out, re.M).group(1))
        if accuracy < 0.80:
            sys.exit(f"FAIL: fine-tuned accuracy {accuracy} < 0.80")
        check_observed_head(read_safetensors_raw(observed))
        print(f"OK: backbone unchanged, head trained to accuracy {accuracy:.4f}")


def check_observed_head(observed):
    """The last step's observe_call("head", ...): input [128, 512] (a ReLU's
    output), output logits [128, 10], and d loss / d logits, which for mean
    cross-entropy is (softmax(logits) - onehot(label)) / 128: so
    softmax(logits) - 128 * grad must be one-hot in every row."""
    header = observed[0]
    shapes = {name: header[name]["shape"] for name in header}
    expected = {"head.input": [128, 512], "head.input.grad": [128, 512],
                "head.output": [128, 10], "head.output.grad": [128, 10]}
    if shapes != expected:
        sys.exit(f"FAIL: observations {shapes}, expected {expected}")
    floats = lambda name: struct.unpack(f"<{len(tensor_bytes(observed, name)) // 4}f",
                                        tensor_bytes(observed, name))
    if min(floats("head.input")) < 0:
        sys.exit("FAIL: the observed head input is a ReLU output, yet negative")
    logits, grad = floats("head.output"), floats("head.output.grad")
    for row in range(128):
        z = logits[10 * row:10 * row + 10]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        onehot = [p / sum(e) - 128 * g for p, g in zip(e, grad[10 * row:10 * row + 10])]
        if sorted(round(v, 3) for v in onehot) != [0.0] * 9 + [1.0]:
            sys.exit(f"FAIL: row {row}: softmax - 128 * grad = {onehot} is not one-hot")
    print("OK: observed head gradient is (softmax - onehot) / 128")


def check_torch(logreg_trainer, mlp_trainer, data_dir):
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(f"SKIP: torch is not available ({e})")
        sys.exit(SKIP)
    assert sys.byteorder == "little", "safetensors data is little-endian"
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}

    def load_safetensors(path):
        header, metadata, data = read_safetensors_raw(path)
        tensors = {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            dtype = dtypes[info["dtype"]]
            flat = (torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin
                    else torch.empty(0, dtype=dtype))
            tensors[name] = flat.reshape(info["shape"])
        return tensors, metadata

    def save_safetensors(path, tensors, metadata):
        header, chunks, offset = {"__metadata__": metadata}, [], 0
        for name, t in tensors.items():
            raw = t.detach().contiguous().cpu().numpy().tobytes()
            dtype = {v: k for k, v in dtypes.items()}[t.dtype]
            header[name] = {"dtype": dtype, "shape": list(t.shape),
                            "data_offsets": [offset, offset + len(raw)]}
            chunks.append(raw)
            offset += len(raw)
        text = json.dumps(header).encode()
        text += b" " * (-(8 + len(text)) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))

    def read_idx(name):
        path = os.path.join(data_dir, name)
        opener = gzip.open if os.path.exists(path + ".gz") else open
        with opener(path + ".gz" if opener is gzip.open else path, "rb") as f:
            blob = f.read()
        rank = blob[3]
        dims = struct.unpack(">" + "I" * rank, blob[4:4 + 4 * rank])
        return torch.frombuffer(bytearray(blob[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)

    class LogReg(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, 10)

        def forward(self, x):
            x = torch.relu(self.fc1(x.flatten(1)))
            return self.fc3(torch.relu(self.fc2(x)))

    test_x = read_idx("t10k-images-idx3-ubyte").float() / 255  # as kiln: x / 255 in float32
    test_y = read_idx("t10k-labels-idx1-ubyte").long()

    def accuracy(logits):
        return (logits.argmax(1) == test_y).double().mean().item()

    def compare(what, kiln_logits_path, torch_logits, printed_accuracy, atol):
        dumped, _ = load_safetensors(kiln_logits_path)
        kiln_logits = dumped["logits"]
        if not torch.equal(dumped["labels"].long(), test_y):
            sys.exit(f"FAIL: {what}: dumped labels differ from the test set")
        diff = (kiln_logits - torch_logits).abs().max().item()
        disagree = (kiln_logits.argmax(1) != torch_logits.argmax(1)).sum().item()
        kiln_acc, torch_acc = accuracy(kiln_logits), accuracy(torch_logits)
        print(f"{what}: max |logit diff| {diff:.3g}, argmax disagreements {disagree}, "
              f"accuracy kiln {printed_accuracy} (from logits {kiln_acc}) torch {torch_acc}")
        if diff > atol:
            sys.exit(f"FAIL: {what}: logits differ by {diff} > {atol}")
        if abs(kiln_acc - printed_accuracy) > 1e-12:
            sys.exit(f"FAIL: {what}: printed accuracy {printed_accuracy} != {kiln_acc}")
        # A near-tie may flip under a different summation order; allow two.
        if disagree > 2 or abs(kiln_acc - torch_acc) > 2.5e-4:
            sys.exit(f"FAIL: {what}: kiln and torch classify differently")

    def printed_accuracy(out):
        return float(re.search(r"^final test accuracy: (\S+)$", out, re.M).group(1))

    with tempfile.TemporaryDirectory(prefix="kiln_torch_") as work:
        path = lambda name: os.path.join(work, name)
        flags = ["--seed", "3", "--log-every", "0", "--full-precision", "--data-dir", data_dir]

        # kiln -> torch: the logreg's state loads into LogReg as is.
        out = run([logreg_trainer, "--epochs", "1", "--save", path("logreg.safetensors"),
                   "--dump-logits", path("logreg_logits.safetensors")] + flags)
        state, meta = load_safetensors(path("logreg.safetensors"))
        if meta.get("format") != "pt" or meta.get("kiln.epoch") != "1":
            sys.exit(f"FAIL: unexpected metadata {meta}")
        logreg = LogReg()
        logreg.load_state_dict(state, strict=True)
        with torch.no_grad():
            compare("kiln logreg -> torch", path("logreg_logits.safetensors"), logreg(test_x),
                    printed_accuracy(out), 1e-4)

        # The mlp: parameters into the module, momentum buffers into SGD.
        out = run([mlp_trainer, "--epochs", "1", "--max-steps", "40",
                   "--save", path("mlp.safetensors"),
                   "--dump-logits", path("mlp_logits.safetensors")] + flags)
        state, meta = load_safetensors(path("mlp.safetensors"))
        mlp = MLP()
        params = {k: v for k, v in state.items() if not k.endswith(".momentum_buffer")}
        mlp.load_state_dict(params, strict=True)
        optimizer = torch.optim.SGD(mlp.parameters(), lr=float(meta["kiln.lr"]), momentum=0.9)
        for name, p in mlp.named_parameters():
            optimizer.state[p]["momentum_buffer"] = state[name + ".momentum_buffer"].clone()
        if len(state) != 2 * len(params):
            sys.exit(f"FAIL: expected a momentum buffer per parameter, got {sorted(state)}")
        with torch.no_grad():
            compare("kiln mlp -> torch", path("mlp_logits.safetensors"), mlp(test_x),
                    printed_accuracy(out), 1e-3)

        # torch -> kiln: fine-tune the logreg in PyTorch, save by hand, evaluate in kiln.
        torch.manual_seed(0)
        train_x, train_y = read_idx("train-images-idx3-ubyte"), read_idx("train-labels-idx1-ubyte")
        sgd = torch.optim.SGD(logreg.parameters(), lr=0.1)
        for _ in range(100):
            idx = torch.randint(0, train_x.shape[0], (128,))
            logits = logreg(train_x[idx].float() / 255)
            loss = nn.functional.cross_entropy(logits, train_y[idx].long())
            sgd.zero_grad()
            loss.backward()
            sgd.step()
        save_safetensors(path("torch.safetensors"), logreg.state_dict(), {"format": "pt"})
        out = run([logreg_trainer, "--epochs", "0", "--init-from", path("torch.safetensors"),
                   "--dump-logits", path("from_torch_logits.safetensors")] + flags)
        with torch.no_grad():
            compare("torch logreg -> kiln", path("from_torch_logits.safetensors"), logreg(test_x),
                    printed_accuracy(out), 1e-4)
    print("OK: kiln and PyTorch agree in both directions")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "resume":
        check_resume(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "finetune":
        check_finetune(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "torch":
        check_torch(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
