#!/usr/bin/env python3
"""kiln's generated matrix product alone beside cblas_sgemm (1 thread).

Writes each shape of the MLP models' steps (forward, and the backward
products with a transposed operand; with --shapes lenet, its convolutions'
im2col products per chunk of images) as the linalg IR that kiln's bufferized
step holds (a linalg.fill of C, a 2-D transpose copy where an operand is
transposed, the matmul generic), lowers it with kiln-opt's CPU passes at the
host's vector width (the pass's default blocking for it), compiles it with clang -O3 -march=native, links
bench/gemm_bench.c over OpenBLAS and prints GFLOP/s of both per shape.

usage: bench/gemm_bench.py [--build DIR] [--shapes mlp,mlp_wide,lenet]
                           [--vector-width 8] [--seconds 0.2] [--keep DIR]
                           [--copy-transposes]
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, m, k, n, transA, transB): C[m,n] = op(A)[m,k] x op(B)[k,n], the
# products of a dense layer y = x W^T (x: batch x in, W: out x in, as the
# DSL stores it) in kiln's step: forward x W^T (transposed B), backward
# dx = dy W and dW = dy^T x (transposed A).
SHAPES = {
    "mlp": [  # batch 128, 784-512-512-10
        ("fc1", 128, 784, 512, 0, 1),
        ("fc2", 128, 512, 512, 0, 1),
        ("fc3", 128, 512, 10, 0, 1),
        ("dx3", 128, 10, 512, 0, 0),
        ("dx2", 128, 512, 512, 0, 0),
        ("dW3", 10, 128, 512, 1, 0),
        ("dW2", 512, 128, 512, 1, 0),
        ("dW1", 512, 128, 784, 1, 0),
    ],
    "mlp_wide": [  # batch 1024, 784-4096-4096-10
        ("w_fc1", 1024, 784, 4096, 0, 1),
        ("w_fc2", 1024, 4096, 4096, 0, 1),
        ("w_fc3", 1024, 4096, 10, 0, 1),
        ("w_dx2", 1024, 4096, 4096, 0, 0),
        ("w_dW2", 4096, 1024, 4096, 1, 0),
        ("w_dW1", 4096, 1024, 784, 1, 0),
    ],
    "lenet": [  # its convolutions' products per chunk of images (im2col)
        ("c1", 6, 25, 3136, 0, 0),  # forward: weight x col^T
        ("c2", 16, 150, 800, 0, 0),
        ("c2_dx", 6, 400, 196, 0, 0),  # input gradient
        ("c1_dw", 6, 3136, 25, 0, 0),  # weight gradient: gy^T x col
        ("c2_dw", 16, 800, 150, 0, 0),
    ],
}


def memref(rows, cols):
    return f"memref<{rows}x{cols}xf32>"


def kernel_ir(name, m, k, n, trans_a, trans_b, copy_transposes):
    """The function kiln_gemm_<name>(a, b, c, tmp) as linalg on memrefs: a
    transposed operand through a copy (copy_transposes, what kiln made before
    convert-kiln-to-linalg folded transposes into the matmul) or read through
    the matmul's swapped indexing map."""
    a_type = memref(k, m) if trans_a else memref(m, k)
    b_type = memref(n, k) if trans_b else memref(k, n)
    tmp_type = (memref(m, k) if trans_a else
                memref(k, n) if trans_b else memref(1, 1))
    lines = [
        f"func.func @kiln_gemm_{name}(%a: {a_type}, %b: {b_type}, "
        f"%c: {memref(m, n)}, %tmp: {tmp_type}) {{",
        "  %zero = arith.constant 0.0 : f32",
        f"  linalg.fill ins(%zero : f32) outs(%c : {memref(m, n)})",
    ]
    lhs, rhs = "%a", "%b"
    lhs_type, rhs_type = a_type, b_type
    a_map = "(k, i)" if trans_a and not copy_transposes else "(i, k)"
    b_map = "(j, k)" if trans_b and not copy_transposes else "(k, j)"
    if (trans_a or trans_b) and copy_transposes:
        src, src_type = ("%a", a_type) if trans_a else ("%b", b_type)
        lines += [
            "  linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>,"
            " affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\","
            " \"parallel\"]}",
            f"      ins({src} : {src_type}) outs(%tmp : {tmp_type}) {{",
            "  ^bb0(%x: f32, %y: f32):",
            "    linalg.yield %x : f32",
            "  }",
        ]
        if trans_a:
            lhs, lhs_type = "%tmp", tmp_type
        else:
            rhs, rhs_type = "%tmp", tmp_type
    lines += [
        f"  linalg.generic {{indexing_maps = [affine_map<(i, k, j) -> {a_map}>,"
        f" affine_map<(i, k, j) -> {b_map}>, affine_map<(i, k, j) -> (i, j)>],"
        " iterator_types = [\"parallel\", \"reduction\", \"parallel\"]}",
        f"      ins({lhs}, {rhs} : {lhs_type}, {rhs_type})"
        f" outs(%c : {memref(m, n)}) {{",
        "  ^bb0(%x: f32, %y: f32, %acc: f32):",
        "    %p = arith.mulf %x, %y : f32",
        "    %s = arith.addf %acc, %p : f32",
        "    linalg.yield %s : f32",
        "  }",
        "  return",
        "}",
    ]
    return "\n".join(lines) + "\n"


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"gemm_bench.py: {' '.join(cmd)} failed")
    return proc.stdout


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--shapes", default="mlp,mlp_wide")
    parser.add_argument("--vector-width", type=int, default=8,
                        help="f32 lanes (8 = AVX2, 16 = AVX-512)")
    parser.add_argument("--seconds", default="0.2",
                        help="time per shape and library")
    parser.add_argument("--keep", help="write the sources here and keep them")
    parser.add_argument("--copy-transposes", action="store_true",
                        help="transposed operands through a copy first (the "
                        "IR of kiln before transposed matmul operands)")
    args = parser.parse_args()

    kiln_opt = os.path.join(args.build, "bin", "kiln-opt")
    shapes = [s for group in args.shapes.split(",") for s in SHAPES[group]]
    work = args.keep or tempfile.mkdtemp(prefix="kiln-gemm-bench-")
    os.makedirs(work, exist_ok=True)
    objects = []
    for shape in shapes:
        name = shape[0]
        source = os.path.join(work, f"{name}.mlir")
        with open(source, "w") as f:
            f.write(kernel_ir(*shape, args.copy_transposes))
        # The matmul pass at the host's width first; kiln-lower-to-llvm then
        # lowers the rest as kilnc does (its own matmul pass finds nothing).
        # The shared packed B that kilnc's memory plan puts in the arena is
        # a malloc here, reused from call to call as the arena would be
        # (see the environment of the run below).
        llvm_ir = run([kiln_opt, source,
                       "-kiln-reserve-matmul-packing="
                       f"vector-width={args.vector_width}",
                       "-buffer-deallocation",
                       f"-kiln-vectorize-matmul=vector-width={args.vector_width}",
                       "-kiln-lower-to-llvm"])
        ll = os.path.join(work, f"{name}.ll")
        with open(ll, "w") as f:
            f.write(run(["mlir-translate-16", "--mlir-to-llvmir"],
                        input=llvm_ir))
        obj = os.path.join(work, f"{name}.o")
        run(["clang-16", "-O3", "-march=native", "-c", ll, "-o", obj])
        objects.append(obj)
    header = os.path.join(work, "shapes.h")
    with open(header, "w") as f:
        f.write("#define KILN_GEMM_SHAPE_LIST \\\n")
        for name, m, k, n, ta, tb in shapes:
            f.write(f"  SHAPE({name}, {m}, {k}, {n}, {ta}, {tb}) \\\n")
        f.write("\n")
    exe = os.path.join(work, "gemm_bench")
    run(["clang-16", "-O2", "-std=c11", "-D_ISOC11_SOURCE",
         "-D_POSIX_C_SOURCE=200809L", f'-DKILN_GEMM_SHAPES="{header}"',
         "-I/usr/include/x86_64-linux-gnu/openblas-pthread",
         os.path.join(HERE, "gemm_bench.c"), *objects, "-o", exe,
         "-lopenblas", "-lm"])
    with open("/proc/loadavg") as f:
        print("load average before:", " ".join(f.read().split()[:3]))
    sys.stdout.flush()
    # glibc serves the packed B from its heap, not from a fresh mmap (page
    # faults on every call) that a trimmed heap would need.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(1 << 30),
               MALLOC_TRIM_THRESHOLD_=str(1 << 30))
    subprocess.run([exe, args.seconds], check=True, env=env)
    with open("/proc/loadavg") as f:
        print("load average after:", " ".join(f.read().split()[:3]))


if __name__ == "__main__":
    main()
