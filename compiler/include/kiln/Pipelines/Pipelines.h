//===- Pipelines.h - kiln pass pipelines ------------------------*- C++ -*-===//
//
// The compilation pipeline as three stages, so that tools can stop after
// each: differentiate (kiln IR with backward ops), bufferize (memrefs in one
// static arena: the ABI is fixed here), lower to the LLVM dialect.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PIPELINES_PIPELINES_H
#define KILN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace kiln {

struct CPUPipelineOptions {
  /// Replace exp/log with polynomials: no libm calls, vectorizable loops.
  bool approximateMath = true;
  /// f32 lanes per vector for the affine super-vectorizer (16 = AVX-512);
  /// 0 or 1 keeps scalar loops (e.g. for Cortex-M without SIMD).
  unsigned vectorWidth = 16;
  /// Run big independent loops on OpenMP threads (the generated code then
  /// needs libomp); off for device targets, which must stay freestanding.
  bool parallel = false;
  /// Results that do not depend on the vector width or the core's fma
  /// (kilnc --deterministic): matrix products keep their k order without
  /// contraction, and the affine vectorizer widens only loops whose
  /// elements are computed independently, never a reduction.
  bool deterministic = false;
};

struct BufferizePipelineOptions {
  /// Pointer width of the target: every buffer and the arena must be
  /// addressable with it (32 on Cortex-M and riscv32).
  unsigned pointerBits = 64;
  /// Attach the arena plan to each function (`kiln.memory_plan`) for the
  /// driver's memory report and budget.
  bool recordMemoryPlan = false;
  /// Convolutions over the whole batch at once, however large their im2col
  /// (the GPU's kernels parallelize over it); else in cache-sized chunks of
  /// images.
  bool wholeBatchConvolutions = false;
  /// Matmuls read transposed operands in place (convert-kiln-to-linalg's
  /// transposed-matmul-operands); off for the GPU's kernels.
  bool transposedMatmulOperands = true;
  /// kiln-parallelize-chunk-loops' lanes: a convolution's chunk loop runs
  /// in this many lanes on threads, each with its own chunk buffers (more
  /// arena); 0 or 1 keeps it serial. For host code with threads.
  int64_t chunkLanes = 0;
  /// kiln-vectorize-matmul's vector width in the lowering that follows:
  /// room in the arena for the products that pack B once per k block
  /// (kiln-reserve-matmul-packing); 0 or 1: no matmul pass, no room.
  unsigned matmulVectorWidth = 0;

  /// The layout the NVPTX kernels want (one place for the driver and the
  /// registered GPU pipelines): whole-batch convolutions, matmul operands
  /// as stored so that each thread's reads coalesce.
  void useGPUKernelLayout() {
    wholeBatchConvolutions = true;
    transposedMatmulOperands = false;
  }
};

/// kiln.vjp -> backward ops, then canonicalize and CSE (still kiln IR).
void buildKilnDifferentiatePipeline(mlir::OpPassManager &pm);
/// kiln (differentiated) -> linalg -> memrefs planned into one arena.
void buildKilnBufferizePipeline(
    mlir::OpPassManager &pm,
    const BufferizePipelineOptions &options = BufferizePipelineOptions());
/// Planned memrefs -> loops -> LLVM dialect with the bare-pointer C ABI.
void buildKilnLowerToLLVMPipeline(mlir::OpPassManager &pm,
                                  const CPUPipelineOptions &options);
/// All three stages.
void buildKilnCPUPipeline(mlir::OpPassManager &pm,
                          const CPUPipelineOptions &options);

struct NVPTXPipelineOptions {
  /// Compute capability x10: 80 (A100) or 90 (H100).
  unsigned sm = 80;
  /// PTX ISA version x10; 78 is the highest LLVM 16 knows.
  unsigned ptx = 78;
  /// Tiled matmuls multiply on tensor cores (mma.sync, inputs rounded to
  /// TF32, FP32 sums). Off: every kernel computes in exact FP32, each sum
  /// in the CPU's order.
  bool tf32 = false;
  std::string features() const; ///< "+ptx78"
};

/// Planned memrefs -> one gpu.launch per linalg op, outlined, lowered to
/// NVVM and compiled to PTX (the module attribute `kiln.ptx`).
void buildKilnNVPTXKernelPipeline(mlir::OpPassManager &pm,
                                  const NVPTXPipelineOptions &options);
/// Embeds `kiln.ptx`, launches -> kiln_cuda_launch calls, host -> LLVM.
void buildKilnNVPTXHostPipeline(mlir::OpPassManager &pm);
/// Planned memrefs -> one kernel per linalg op, compiled to PTX, plus host
/// functions (LLVM dialect, bare pointers = device pointers) that launch
/// them through kiln_cuda_launch.
void buildKilnNVPTXLowerPipeline(mlir::OpPassManager &pm,
                                 const NVPTXPipelineOptions &options);
/// Differentiate, bufferize (same arena as the CPU), lower for NVPTX.
void buildKilnNVPTXPipeline(mlir::OpPassManager &pm,
                            const NVPTXPipelineOptions &options);
/// Registers `kiln-nvptx-lower` and `kiln-nvptx-pipeline{sm=80 ptx=78
/// tf32=0}`.
void registerKilnNVPTXPipelines();

/// Registers the pipelines above as `kiln-differentiate`,
/// `kiln-bufferize{pointer-bits=64 record-memory-plan=0}`, and
/// `kiln-lower-to-llvm` / `kiln-cpu-pipeline` with CPUPipelineOptions as
/// `{approximate-math=1 vector-width=16 parallel=0 deterministic=0}`.
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_PIPELINES_PIPELINES_H
