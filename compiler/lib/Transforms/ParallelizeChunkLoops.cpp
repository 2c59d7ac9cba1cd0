//===- ParallelizeChunkLoops.cpp - a convolution's chunks on threads ------===//
//
// A chunked convolution (KilnToLinalgNN.cpp) runs im2col + matmul per chunk
// of images in one scf.for, reusing the chunk's buffers in every iteration.
// Forking inside each chunk (hundreds of forks a step) stalls whenever the
// other core is busy; here the loop itself is split into lanes, each with
// its own copy of the chunk's buffers, run by one scf.parallel: one fork per
// convolution.
//
// The lane count is fixed at compile time, not taken from the thread count,
// and each chunk is computed exactly as in the serial loop, so results do
// not depend on how many threads run the lanes. Runs before
// kiln-static-memory-plan, which sees every lane's buffers live inside the
// same top-level op and so gives them disjoint bytes of the arena.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPARALLELIZECHUNKLOOPS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// `loop` as an scf.parallel over `lanes` lanes; lane l runs the chunks
/// [l * perLane, (l + 1) * perLane) of the original iteration space (the
/// last lane fewer), with the buffers the body allocates replaced by lane
/// l's copy.
void splitIntoLanes(scf::ForOp loop, int64_t lowerBound, int64_t step,
                    int64_t trips, int64_t lanes) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  auto index = [&](int64_t v) -> Value {
    return b.create<arith::ConstantIndexOp>(loc, v);
  };
  int64_t perLane = (trips + lanes - 1) / lanes;
  lanes = (trips + perLane - 1) / perLane; // none empty
  auto parallel = b.create<scf::ParallelOp>(loc, ValueRange{index(0)},
                                            ValueRange{index(lanes)},
                                            ValueRange{index(1)});
  b.setInsertionPointToStart(parallel.getBody());
  Value lane = parallel.getInductionVars()[0];
  Value begin = b.create<arith::AddIOp>(
      loc, index(lowerBound),
      b.create<arith::MulIOp>(loc, lane, index(perLane * step)));
  Value end = b.create<arith::MinSIOp>(
      loc, loop.getUpperBound(),
      b.create<arith::AddIOp>(loc, begin, index(perLane * step)));

  // Each buffer the body allocates, once per lane, chosen by lane.
  SmallVector<memref::AllocOp> allocs;
  for (Operation &op : *loop.getBody())
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      allocs.push_back(alloc);
  for (memref::AllocOp alloc : allocs) {
    alloc->moveBefore(parallel.getBody(), parallel.getBody()->begin());
    Value chosen = alloc.getResult();
    SmallVector<Operation *> choices;
    for (int64_t l = 1; l < lanes; ++l) {
      Value copy = b.clone(*alloc)->getResult(0);
      Value isLane = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                             lane, index(l));
      auto select = b.create<arith::SelectOp>(loc, isLane, copy, chosen);
      choices.push_back(select);
      chosen = select;
    }
    alloc.getResult().replaceAllUsesExcept(
        chosen, SmallPtrSet<Operation *, 8>(choices.begin(), choices.end()));
  }
  loop->moveBefore(parallel.getBody()->getTerminator());
  loop.setLowerBound(begin);
  loop.setUpperBound(end);
}

struct ParallelizeChunkLoopsPass
    : public kiln::impl::KilnParallelizeChunkLoopsBase<
          ParallelizeChunkLoopsPass> {
  using KilnParallelizeChunkLoopsBase::KilnParallelizeChunkLoopsBase;

  void runOnOperation() override {
    StringRef mark = kiln::KilnDialect::getChunkLanesAttrName();
    SmallVector<scf::ForOp> marked;
    getOperation().walk([&](scf::ForOp loop) {
      if (loop->hasAttr(mark))
        marked.push_back(loop);
    });
    for (scf::ForOp loop : marked) {
      loop->removeAttr(mark);
      std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
      std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound());
      std::optional<int64_t> step = getConstantIntValue(loop.getStep());
      // Bufferized in place, the loop carries nothing; nested in another
      // loop, a fork per outer iteration is what this pass avoids.
      if (lanes < 2 || !lower || !upper || !step || *step <= 0 ||
          loop.getNumResults() != 0 ||
          loop->getParentOp() != getOperation().getOperation())
        continue;
      int64_t trips = (*upper - *lower + *step - 1) / *step;
      if (trips < 2)
        continue;
      splitIntoLanes(loop, *lower, *step, trips, std::min<int64_t>(lanes, trips));
    }
  }
};
} // namespace
