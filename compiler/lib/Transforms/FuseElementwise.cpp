//===- FuseElementwise.cpp - fusion without recomputation -----------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISE
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// True when every loop of the consumer indexes the fused operand, so the
/// fused producer still computes each of its elements exactly once.
bool fusesWithoutRecomputation(OpOperand *fusedOperand) {
  auto consumer = dyn_cast<linalg::GenericOp>(fusedOperand->getOwner());
  if (!consumer)
    return false;
  AffineMap map = consumer.getMatchingIndexingMap(fusedOperand);
  return map.getNumResults() == consumer.getNumLoops();
}

/// True when no linalg op with a reduction loop (a matmul, a sum: another
/// layer's or micro-batch's work) lies between producer and consumer.
/// Fusion moves the producer's computation to the consumer, so its inputs
/// would stay alive across that work: fusing gradient accumulation's chain
/// of adds would keep every micro-batch's gradients until the last one.
bool staysLocal(OpOperand *fusedOperand) {
  Operation *consumer = fusedOperand->getOwner();
  Operation *producer = fusedOperand->get().getDefiningOp();
  if (!producer || producer->getBlock() != consumer->getBlock())
    return false;
  for (Operation *op = producer->getNextNode(); op && op != consumer;
       op = op->getNextNode())
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
      if (linalgOp.getNumReductionLoops() > 0)
        return false;
  return true;
}

struct FuseElementwisePass
    : public kiln::impl::KilnFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *fused) {
          return fusesWithoutRecomputation(fused) && staysLocal(fused);
        });
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
