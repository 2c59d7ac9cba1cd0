//===- ParallelizeLoops.cpp - outermost affine loops onto threads ---------===//
//
// Host trainers run their step on every core. Only outermost loops over
// independent iterations (rows of an elementwise op, output channels, ...)
// are split across threads, whole iterations at a time, so each element is
// computed by the same operations in the same order whatever the thread
// count: threaded results are bit-identical to serial ones.
//
// Two passes around the super-vectorizer: dependence analysis needs affine
// loads and stores (the vectorizer replaces them with vector transfers), and
// the vectorizer must see the same loops as without threads.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Affine/Analysis/AffineAnalysis.h"
#include "mlir/Dialect/Affine/Analysis/LoopAnalysis.h"
#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace kiln {
#define GEN_PASS_DEF_KILNMARKPARALLELLOOPS
#define GEN_PASS_DEF_KILNPARALLELIZEMARKEDLOOPS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelMark =
    kiln::KilnDialect::getParallelAttrName();

/// Innermost iterations of the nest under \p loop (the loops nested in its
/// body run one after another), or nullopt if a trip count is not constant.
std::optional<int64_t> nestWork(AffineForOp loop) {
  std::optional<uint64_t> trips = getConstantTripCount(loop);
  if (!trips)
    return std::nullopt;
  int64_t inner = 0;
  for (Operation &op : *loop.getBody()) {
    auto child = dyn_cast<AffineForOp>(op);
    if (!child)
      continue;
    std::optional<int64_t> childWork = nestWork(child);
    if (!childWork)
      return std::nullopt;
    inner += *childWork;
  }
  return static_cast<int64_t>(*trips) * std::max<int64_t>(inner, 1);
}

bool holdsLoop(AffineForOp loop) {
  return llvm::any_of(*loop.getBody(),
                      [](Operation &op) { return isa<AffineForOp>(op); });
}

struct MarkParallelLoopsPass
    : public kiln::impl::KilnMarkParallelLoopsBase<MarkParallelLoopsPass> {
  using KilnMarkParallelLoopsBase::KilnMarkParallelLoopsBase;

  void runOnOperation() override {
    // Only loops directly in the function: a nested parallel loop would fork
    // once per outer iteration.
    for (Operation &op : getOperation().getBody().getOps()) {
      auto loop = dyn_cast<AffineForOp>(op);
      // A loop without inner loops is the one the vectorizer widens (and
      // replaces); it would lose the mark anyway.
      if (!loop || !holdsLoop(loop))
        continue;
      std::optional<int64_t> work = nestWork(loop);
      std::optional<uint64_t> trips = getConstantTripCount(loop);
      if (!work || *work < minWork || !trips || *trips < 2)
        continue;
      if (loop.getNumIterOperands() == 0 && isLoopParallel(loop))
        loop->setAttr(kParallelMark, UnitAttr::get(&getContext()));
    }
  }
};

struct ParallelizeMarkedLoopsPass
    : public kiln::impl::KilnParallelizeMarkedLoopsBase<
          ParallelizeMarkedLoopsPass> {
  void runOnOperation() override {
    SmallVector<AffineForOp> marked;
    getOperation().walk([&](AffineForOp loop) {
      if (loop->hasAttr(kParallelMark))
        marked.push_back(loop);
    });
    for (AffineForOp loop : marked) {
      loop->removeAttr(kParallelMark);
      if (failed(affineParallelize(loop))) {
        loop.emitError("kiln: a loop marked parallel could not be "
                       "parallelized");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
