//===- MapToGPU.h - kernel builders of kiln-map-to-gpu ----------*- C++ -*-===//
//
// One builder makes every kernel of a function: the plain one-thread-per-
// element kernel (MapToGPU.cpp), block reductions in shared memory
// (MapToGPUReduction.cpp) and the tiled matmul (MapToGPUMatmul.cpp). They
// share how a value reaches a kernel (materialize) and how an operand's
// element is addressed (indicesOf).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TRANSFORMS_MAPTOGPU_H
#define KILN_TRANSFORMS_MAPTOGPU_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

namespace kiln::gpu_mapping {

/// Tunables of the kernel shapes (docs/gpu.md says why these values).
struct KernelShapes {
  /// Threads per block of a one-thread-per-element kernel.
  int64_t blockSize = 256;
  /// A reduction over at least this many elements per output is a block
  /// reduction in shared memory; shorter ones stay one thread per output.
  int64_t blockReductionMinSize = 64;
  /// Matmuls of at least this many multiply-adds use the tiled kernel.
  int64_t tiledMatmulMinWork = 1 << 16;
  /// Tiled matmuls multiply on tensor cores in TF32 (sm_80 and later).
  bool tf32Matmuls = false;
};

/// Memory space of a kernel's shared (workgroup) allocas.
constexpr unsigned kWorkgroupMemorySpace = 3;

class KernelBuilder {
public:
  KernelBuilder(mlir::func::FuncOp func, const KernelShapes &shapes);

  /// The kernel for `op`: tiled matmul, block reduction or one thread per
  /// output element, whichever applies first.
  mlir::LogicalResult build(mlir::linalg::LinalgOp op);
  /// One thread runs `op` (a loop nest) as it is.
  mlir::LogicalResult buildSequential(mlir::Operation *op);

private:
  mlir::LogicalResult buildPerElement(mlir::linalg::LinalgOp op);
  /// Failure-free "not applicable" is `std::nullopt`.
  std::optional<mlir::LogicalResult>
  buildBlockReduction(mlir::linalg::LinalgOp op);
  std::optional<mlir::LogicalResult>
  buildTiledMatmul(mlir::linalg::LinalgOp op);

  /// A launch before `op` with a 1-D grid and block; `b` at its body's
  /// start, the value mapping cleared.
  mlir::gpu::LaunchOp createLaunch(mlir::Operation *op, int64_t grid,
                                   int64_t block, mlir::OpBuilder &b);
  /// The value of `v` inside the kernel being built: function arguments are
  /// captured (they become kernel parameters); views, casts, constants,
  /// constant globals and reads nothing overwrites are cloned so no host
  /// address or host memory read crosses into the kernel.
  mlir::FailureOr<mlir::Value> materialize(mlir::Value v, mlir::OpBuilder &b);
  /// Indices of `operand`'s element at loop indices `ivs`.
  llvm::SmallVector<mlir::Value> indicesOf(mlir::OpBuilder &b,
                                           mlir::linalg::LinalgOp op,
                                           mlir::OpOperand *operand,
                                           mlir::ArrayRef<mlir::Value> ivs);
  /// Clones `op`'s body for the point `ivs`, its inputs loaded (or taken
  /// as scalars) and `overrides` replacing block arguments (an
  /// accumulator). Returns the yielded values, or failure.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  cloneBody(mlir::OpBuilder &b, mlir::linalg::LinalgOp op,
            mlir::ArrayRef<mlir::Value> ivs,
            const llvm::DenseMap<unsigned, mlir::Value> &overrides);
  mlir::Value index(mlir::OpBuilder &b, mlir::Location loc, int64_t v) {
    return b.create<mlir::arith::ConstantIndexOp>(loc, v);
  }
  /// Row-major coordinates (last fastest) of `linear` in `sizes`.
  llvm::SmallVector<mlir::Value> delinearize(mlir::OpBuilder &b,
                                             mlir::Location loc,
                                             mlir::Value linear,
                                             mlir::ArrayRef<int64_t> sizes);

  mlir::func::FuncOp func;
  KernelShapes shapes;
  llvm::DenseSet<mlir::Operation *> movableReads;
  mlir::IRMapping mapping;
};

} // namespace kiln::gpu_mapping

#endif // KILN_TRANSFORMS_MAPTOGPU_H
