#!/usr/bin/env python3
"""--device cuda where no GPU can be used: the CUDA trainer of a model fails
with the runtime's "no CUDA device" message and exit status 1 (no crash, no
step run; with --cuda-graph too, which without --device cuda is a usage error), the CPU-only trainer says it was not built for CUDA, and
`gpu-check.sh run` in a bundle holding that trainer stops with exit 2 and
"no usable GPU".

usage: check_train_cuda.py CUDA_TRAINER CPU_TRAINER MODEL [GPU_CHECK_SH]
"""
import os
import shutil
import subprocess
import sys
import tempfile


def run(cmd, **env):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, **env))
    return result.returncode, result.stdout, result.stderr


def expect(ok, what, output):
    if not ok:
        sys.exit(f"FAIL: {what}\n--- output ---\n{output}")
    print(f"ok: {what}")


def main():
    cuda_trainer, cpu_trainer, model = sys.argv[1:4]
    no_driver = "no CUDA device: /nonexistent/libcuda.so.1 not found"
    args = ["--device", "cuda", "--epochs", "1", "--max-steps", "2"]
    rc, out, err = run([cuda_trainer] + args,
                       KILN_CUDA_LIBRARY="/nonexistent/libcuda.so.1")
    expect(rc == 1 and err == "error: --device cuda: no CUDA device: "
           "/nonexistent/libcuda.so.1 not found (/nonexistent/libcuda.so.1: "
           "cannot open shared object file: No such file or directory)\n"
           and "epoch 1" not in out and out == "",
           "without a driver: exit 1, 'no CUDA device', before reading data",
           f"rc={rc}\n{out}{err}")
    rc, out, err = run([cuda_trainer] + args + ["--cuda-graph"],
                       KILN_CUDA_LIBRARY="/nonexistent/libcuda.so.1")
    expect(rc == 1 and err.startswith("error: --device cuda: " + no_driver) and out == "",
           "--cuda-graph without a driver: the same error", f"rc={rc}\n{out}{err}")
    rc, out, err = run([cuda_trainer, "--cuda-graph", "--max-steps", "2"])
    expect(rc == 2 and "--cuda-graph applies to --device cuda" in err and out == "",
           "--cuda-graph without --device cuda is a usage error", f"rc={rc}\n{out}{err}")
    rc, out, err = run([cpu_trainer] + args)
    expect(rc == 1 and f"was not built for CUDA: --device cuda needs the trainer of "
           f"kiln_add_model(NAME {model} TARGET cuda), {model}-train-cuda" in err,
           "a CPU-only trainer refuses --device cuda", f"rc={rc}\n{out}{err}")
    # This machine as it is: a GPU trains (checked by gpu-check.sh), none
    # gives the same clear error.
    rc, out, err = run([cuda_trainer] + args)
    if rc == 0:
        print(f"note: a CUDA device is present here:\n{out}")
    else:
        expect(rc == 1 and err.startswith("error: --device cuda: no CUDA device: "),
               "this machine: no CUDA device, exit 1", f"rc={rc}\n{out}{err}")
    if len(sys.argv) > 4 and model == "logreg":
        # gpu-check.sh's device probe is logreg's trainer.
        with tempfile.TemporaryDirectory() as bundle:
            os.mkdir(os.path.join(bundle, "bin"))
            shutil.copy(cuda_trainer, os.path.join(bundle, "bin"))
            shutil.copy(sys.argv[4], os.path.join(bundle, "gpu-check.sh"))
            rc, out, err = run(["bash", os.path.join(bundle, "gpu-check.sh"), "run"],
                               KILN_CUDA_LIBRARY="/nonexistent/libcuda.so.1")
            expect(rc == 2 and err.startswith("gpu-check: no usable GPU: error: --device "
                                              "cuda: " + no_driver)
                   and not os.path.exists(os.path.join(bundle, "results", "results.md")),
                   "gpu-check.sh run without a GPU: exit 2, 'no usable GPU'",
                   f"rc={rc}\n{out}{err}")


if __name__ == "__main__":
    main()
