//===- DeterministicCSE.cpp - CSE that ignores allocation order -----------===//
//
// Upstream CSE (MLIR 16) decides whether two ops with a region are equal by
// walking both bodies in step, after sorting the operands of every
// commutative op by their address. Two identical bodies whose ops happen to
// lie in memory in different orders then compare unequal: whether the
// forward pass's padding of a micro-batch and the identical one its backward
// pass recomputes become one op changed from run to run, and with it the
// arena (lenet-gen --memory-budget=8MiB: 7470912, 7472640 or 7473984 bytes).
// This pass replaces it on tensors: it never merges the region ops upstream
// would compare by address, and compares the operands of a commutative op
// in place or swapped, so that the result depends on the IR alone.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"

namespace kiln {
#define GEN_PASS_DEF_KILNDETERMINISTICCSE
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// True when upstream CSE's verdict on `op` against an identical op depends
/// on addresses: a commutative op in its body with two operands that are op
/// results, one of them from the body. Upstream sorts such operands by
/// address before comparing two bodies in step (block arguments by their
/// number, which is stable).
bool comparedByAddress(Operation *op) {
  auto inBody = [&](Value v) {
    Operation *def = v.getDefiningOp();
    return def && op->isProperAncestor(def);
  };
  WalkResult walk = op->walk([&](Operation *nested) {
    if (nested == op || !nested->hasTrait<OpTrait::IsCommutative>())
      return WalkResult::advance();
    for (Value a : nested->getOperands())
      for (Value b : nested->getOperands())
        if (a != b && a.getDefiningOp() && b.getDefiningOp() &&
            (inBody(a) || inBody(b)))
          return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return walk.wasInterrupted();
}

/// Ops this pass may merge: no effects, results to replace, no region or
/// one single-block region (upstream CSE leaves the others alone too) that
/// upstream would not compare by address. Those upstream merged only when
/// their ops happened to lie in memory in the same order; never merging
/// them makes, e.g., the backward pass recompute a micro-batch's padding
/// instead of keeping the forward pass's alive across the step, which is
/// what the memory plan prefers.
bool isCandidate(Operation &op) {
  if (op.getNumResults() == 0 || op.hasTrait<OpTrait::IsTerminator>() ||
      !isMemoryEffectFree(&op) || op.getNumRegions() > 1)
    return false;
  return op.getNumRegions() == 0 ||
         (op.getRegion(0).hasOneBlock() && !comparedByAddress(&op));
}

/// `lhs` and `rhs` compute the same thing, given `equal` (lhs value -> rhs
/// value) for the values defined in the bodies compared so far; values
/// defined elsewhere must be the same.
bool sameOperation(Operation &lhs, Operation &rhs, IRMapping &equal);

bool sameOperands(Operation &lhs, Operation &rhs, IRMapping &equal) {
  auto same = [&](Value l, Value r) { return equal.lookupOrDefault(l) == r; };
  OperandRange l = lhs.getOperands(), r = rhs.getOperands();
  if (l.size() != r.size())
    return false;
  if (llvm::all_of(llvm::zip(l, r), [&](auto pair) {
        return same(std::get<0>(pair), std::get<1>(pair));
      }))
    return true;
  return lhs.hasTrait<OpTrait::IsCommutative>() && l.size() == 2 &&
         same(l[0], r[1]) && same(l[1], r[0]);
}

bool sameBody(Block &lhs, Block &rhs, IRMapping &equal) {
  if (lhs.getNumArguments() != rhs.getNumArguments() ||
      lhs.getOperations().size() != rhs.getOperations().size())
    return false;
  for (auto [l, r] : llvm::zip(lhs.getArguments(), rhs.getArguments())) {
    if (l.getType() != r.getType())
      return false;
    equal.map(l, r);
  }
  return llvm::all_of(llvm::zip(lhs, rhs), [&](auto pair) {
    return sameOperation(std::get<0>(pair), std::get<1>(pair), equal);
  });
}

bool sameOperation(Operation &lhs, Operation &rhs, IRMapping &equal) {
  if (lhs.getName() != rhs.getName() ||
      lhs.getAttrDictionary() != rhs.getAttrDictionary() ||
      lhs.getResultTypes() != rhs.getResultTypes() ||
      lhs.getNumRegions() != rhs.getNumRegions() ||
      !sameOperands(lhs, rhs, equal))
    return false;
  for (auto [l, r] : llvm::zip(lhs.getRegions(), rhs.getRegions()))
    if (l.getBlocks().size() != r.getBlocks().size() ||
        (!l.empty() && !sameBody(l.front(), r.front(), equal)))
      return false;
  equal.map(lhs.getResults(), rhs.getResults());
  return true;
}

/// Replaces each candidate op of `block` by the first identical op before
/// it. The hash only sorts ops into buckets (it sees operands, not bodies);
/// within a bucket ops stay in block order, so the op kept is always the
/// first one whatever the addresses.
void deduplicate(Block &block) {
  llvm::DenseMap<unsigned, SmallVector<Operation *, 1>> seen;
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (!isCandidate(op))
      continue;
    unsigned hash = OperationEquivalence::computeHash(
        &op, OperationEquivalence::directHashValue,
        OperationEquivalence::ignoreHashValue,
        OperationEquivalence::IgnoreLocations);
    SmallVector<Operation *, 1> &bucket = seen[hash];
    Operation *kept = nullptr;
    for (Operation *earlier : bucket) {
      IRMapping equal;
      if (sameOperation(*earlier, op, equal)) {
        kept = earlier;
        break;
      }
    }
    if (!kept) {
      bucket.push_back(&op);
      continue;
    }
    op.replaceAllUsesWith(kept->getResults());
    op.erase();
  }
}

struct DeterministicCSEPass
    : public kiln::impl::KilnDeterministicCSEBase<DeterministicCSEPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation().walk([&](Block *block) { blocks.push_back(block); });
    for (Block *block : blocks)
      deduplicate(*block);
  }
};
} // namespace
