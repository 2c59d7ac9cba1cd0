//===- VectorRows.h - loops around rows of vectors --------------*- C++ -*-===//
//
// The loop nests of kiln-vectorize-gathers and kiln-vectorize-pooling: scf
// loops over the outer dimensions of a generic's output (the outermost
// split across threads where that pays), around blocks of a row's columns
// that are whole vectors, then one shorter block for a ragged end.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TRANSFORMS_VECTORROWS_H
#define KILN_TRANSFORMS_VECTORROWS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace kiln::vector_rows {

/// Whether a generic `op` over `elements` elements whose outermost loop
/// has `outer` iterations should split that loop across threads: it is big
/// enough to pay for the fork, and it runs once per step: inside a loop (a
/// convolution's chunks of images) it would wake the team once per
/// iteration, which costs more than it saves.
inline bool worthAFork(mlir::Operation *op, int64_t outer, int64_t elements,
                       int64_t parallelMinWork) {
  return parallelMinWork > 0 && outer > 1 && elements >= parallelMinWork &&
         !op->getParentOfType<mlir::scf::ForOp>();
}

/// Loops over `extents` (the outermost an scf.parallel when `parallel`);
/// leaves `b` inside the innermost and returns their induction variables.
inline llvm::SmallVector<mlir::Value>
buildOuterLoops(mlir::OpBuilder &b, mlir::Location loc,
                llvm::ArrayRef<int64_t> extents, bool parallel) {
  auto index = [&](int64_t v) -> mlir::Value {
    return b.create<mlir::arith::ConstantIndexOp>(loc, v);
  };
  llvm::SmallVector<mlir::Value> ivs;
  for (int64_t extent : extents) {
    if (parallel && ivs.empty()) {
      auto loop = b.create<mlir::scf::ParallelOp>(
          loc, mlir::ValueRange{index(0)}, mlir::ValueRange{index(extent)},
          mlir::ValueRange{index(1)});
      b.setInsertionPointToStart(loop.getBody());
      ivs.push_back(loop.getInductionVars()[0]);
      continue;
    }
    auto loop = b.create<mlir::scf::ForOp>(loc, index(0), index(extent),
                                           index(1));
    b.setInsertionPointToStart(loop.getBody());
    ivs.push_back(loop.getInductionVar());
  }
  return ivs;
}

/// Calls `block(start, lanes)` for blocks of `width` of `columns` columns
/// (in an scf.for), then once for the shorter ragged end if any.
inline void
forEachVectorBlock(mlir::OpBuilder &b, mlir::Location loc, int64_t columns,
                   int64_t width,
                   llvm::function_ref<void(mlir::Value, int64_t)> block) {
  auto index = [&](int64_t v) -> mlir::Value {
    return b.create<mlir::arith::ConstantIndexOp>(loc, v);
  };
  int64_t full = columns / width * width;
  if (full > 0) {
    auto loop = b.create<mlir::scf::ForOp>(loc, index(0), index(full),
                                           index(width));
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    block(loop.getInductionVar(), width);
  }
  if (columns > full)
    block(index(full), columns - full);
}

/// `value` as a vector of `lanes`: itself if it is one, else broadcast.
inline mlir::Value broadcastTo(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value value, int64_t lanes) {
  if (value.getType().isa<mlir::VectorType>())
    return value;
  return b.create<mlir::vector::BroadcastOp>(
      loc, mlir::VectorType::get({lanes}, value.getType()), value);
}

/// Applies `inner`, an arith op of a generic's body with one result, to the
/// values `map` gives its operands: as it is where they are all scalars
/// (the same for every lane), else as its `lanes`-lane vector form, the
/// scalar operands broadcast; maps its result.
inline void applyLaneWise(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Operation &inner, mlir::IRMapping &map,
                          int64_t lanes) {
  llvm::SmallVector<mlir::Value> operands;
  for (mlir::Value operand : inner.getOperands())
    operands.push_back(map.lookupOrDefault(operand));
  bool lanewise = llvm::any_of(operands, [](mlir::Value v) {
    return v.getType().isa<mlir::VectorType>();
  });
  if (!lanewise) {
    b.clone(inner, map);
    return;
  }
  for (mlir::Value &operand : operands)
    operand = broadcastTo(b, loc, operand, lanes);
  mlir::OperationState state(loc, inner.getName());
  state.addOperands(operands);
  state.addAttributes(inner.getAttrs());
  state.addTypes(mlir::VectorType::get({lanes}, inner.getResult(0).getType()));
  map.map(inner.getResult(0), b.create(state)->getResult(0));
}

} // namespace kiln::vector_rows

#endif // KILN_TRANSFORMS_VECTORROWS_H
