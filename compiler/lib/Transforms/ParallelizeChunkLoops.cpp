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
// not depend on how many threads run the lanes. A loop that sums its chunks
// into one buffer (a weight gradient) sums each lane's chunks into the
// lane's own buffer, then adds the lanes in order: a different order than
// the serial loop's, the same for every thread count. Runs before
// kiln-static-memory-plan, which sees every lane's buffers live inside the
// same top-level op and so gives them disjoint bytes of the arena.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPARALLELIZECHUNKLOOPS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The buffers `loop` accumulates into (a weight gradient summed over the
/// chunks): outputs of the body's linalg ops allocated outside the loop,
/// whose last writer before the loop fills them with zeros. Null if some
/// output from outside is not such a buffer: the loop is then not split.
std::optional<SmallVector<memref::AllocOp>> accumulators(scf::ForOp loop) {
  SmallVector<memref::AllocOp> result;
  for (Operation &op : *loop.getBody()) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp)
      continue;
    for (OpOperand *init : linalgOp.getDpsInitOperands()) {
      Value buffer = init->get();
      if (loop->isAncestor(buffer.getParentBlock()->getParentOp()))
        continue; // the chunk's own buffer or slice
      auto alloc = buffer.getDefiningOp<memref::AllocOp>();
      if (!alloc || !alloc.getType().getElementType().isa<FloatType>())
        return std::nullopt;
      if (llvm::is_contained(result, alloc))
        continue;
      // The last op before the loop that touches the buffer.
      Operation *last = nullptr;
      for (Operation *at = loop->getPrevNode(); at && !last;
           at = at->getPrevNode())
        if (llvm::is_contained(at->getOperands(), buffer))
          last = at;
      auto fill = dyn_cast_or_null<linalg::FillOp>(last);
      if (!fill || !matchPattern(fill.value(), m_AnyZeroFloat()))
        return std::nullopt;
      result.push_back(alloc);
    }
  }
  return result;
}

/// `loop` as an scf.parallel over `lanes` lanes; lane l runs the chunks
/// [l * perLane, (l + 1) * perLane) of the original iteration space (the
/// last lane fewer), with the buffers the body allocates replaced by lane
/// l's copy. Lane l > 0 sums into its own zero-filled copy of each
/// accumulator, added to lane 0's after the loop in lane order: each sum
/// runs over the lanes' chunks in an order fixed at compile time.
void splitIntoLanes(scf::ForOp loop, int64_t lowerBound, int64_t step,
                    int64_t trips, int64_t lanes,
                    ArrayRef<memref::AllocOp> sums) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  auto index = [&](int64_t v) -> Value {
    return b.create<arith::ConstantIndexOp>(loc, v);
  };
  int64_t perLane = (trips + lanes - 1) / lanes;
  lanes = (trips + perLane - 1) / perLane; // none empty
  // Lanes 1.. of each accumulator, before the loop: live until their sum.
  SmallVector<SmallVector<Value>> laneSums;
  for (memref::AllocOp sum : sums) {
    laneSums.emplace_back();
    Value zero = b.create<arith::ConstantOp>(
        loc, b.getZeroAttr(sum.getType().getElementType()));
    for (int64_t l = 1; l < lanes; ++l) {
      Value copy = b.clone(*sum.getOperation())->getResult(0);
      b.create<linalg::FillOp>(loc, zero, copy);
      laneSums.back().push_back(copy);
    }
  }
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

  // Lane l's buffer among `copies` (lane 0's first), for the loop's uses of
  // `buffer`.
  auto chooseByLane = [&](Value buffer, ArrayRef<Value> copies) {
    Value chosen = copies[0];
    for (int64_t l = 1; l < lanes; ++l) {
      Value isLane = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                             lane, index(l));
      chosen = b.create<arith::SelectOp>(loc, isLane, copies[l], chosen);
    }
    buffer.replaceUsesWithIf(chosen, [&](OpOperand &use) {
      return loop->isAncestor(use.getOwner());
    });
  };
  // Each buffer the body allocates, once per lane.
  SmallVector<memref::AllocOp> allocs;
  for (Operation &op : *loop.getBody())
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      allocs.push_back(alloc);
  for (memref::AllocOp alloc : allocs) {
    alloc->moveBefore(parallel.getBody(), parallel.getBody()->begin());
    SmallVector<Value> copies = {alloc.getResult()};
    for (int64_t l = 1; l < lanes; ++l)
      copies.push_back(b.clone(*alloc)->getResult(0));
    chooseByLane(alloc.getResult(), copies);
  }
  for (size_t i = 0; i < sums.size(); ++i) {
    Value sum = sums[i]->getResult(0);
    SmallVector<Value> copies = {sum};
    copies.append(laneSums[i].begin(), laneSums[i].end());
    chooseByLane(sum, copies);
  }
  loop->moveBefore(parallel.getBody()->getTerminator());
  loop.setLowerBound(begin);
  loop.setUpperBound(end);

  // sum += lane l's sum, l = 1, 2, ...
  b.setInsertionPointAfter(parallel);
  for (size_t i = 0; i < sums.size(); ++i) {
    Value sum = sums[i]->getResult(0);
    int64_t rank = sum.getType().cast<MemRefType>().getRank();
    AffineMap identity = b.getMultiDimIdentityMap(rank);
    SmallVector<utils::IteratorType> parallelLoops(
        rank, utils::IteratorType::parallel);
    for (Value laneSum : laneSums[i])
      b.create<linalg::GenericOp>(
          loc, ValueRange{laneSum}, ValueRange{sum},
          ArrayRef<AffineMap>{identity, identity}, parallelLoops,
          [](OpBuilder &nb, Location l, ValueRange v) {
            nb.create<linalg::YieldOp>(
                l, ValueRange{nb.create<arith::AddFOp>(l, v[1], v[0])});
          });
  }
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
      std::optional<SmallVector<memref::AllocOp>> sums = accumulators(loop);
      if (trips < 2 || !sums)
        continue;
      splitIntoLanes(loop, *lower, *step, trips,
                     std::min<int64_t>(lanes, trips), *sums);
    }
  }
};
} // namespace
