//===- AutodiffPass.cpp - symbolic reverse-mode differentiation -----------===//
//
// Expands each kiln.vjp into backward ops. Only "active" ops get a backward
// rule applied: ops that depend on a `wrt` value and that the differentiated
// output depends on. This is what keeps frozen parameters, data inputs and
// stop_gradient'ed values free of backward ops. Cotangents of a value used
// several times accumulate by addition, as PyTorch accumulates `.grad`.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_KILNAUTODIFF
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

bool isFloatTensor(Value v) {
  auto type = v.getType().dyn_cast<RankedTensorType>();
  return type && type.getElementType().isa<FloatType>();
}

/// Values that depend on a `wrt` value through ops in `block` before `vjp`.
llvm::DenseSet<Value> variedValues(VJPOp vjp) {
  llvm::DenseSet<Value> varied(vjp.getWrt().begin(), vjp.getWrt().end());
  for (Operation &op : *vjp->getBlock()) {
    if (&op == vjp.getOperation())
      break;
    if (isa<StopGradientOp>(op))
      continue;
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return varied.contains(v); }))
      for (Value result : op.getResults())
        if (isFloatTensor(result))
          varied.insert(result);
  }
  return varied;
}

/// Ops in `vjp`'s block whose results the differentiated output depends on.
llvm::DenseSet<Operation *> usefulOps(VJPOp vjp) {
  llvm::DenseSet<Operation *> useful;
  SmallVector<Value> worklist{vjp.getOutput()};
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != vjp->getBlock() || !useful.insert(def).second)
      continue;
    worklist.append(def->operand_begin(), def->operand_end());
  }
  return useful;
}

LogicalResult expandVJP(VJPOp vjp) {
  llvm::DenseSet<Value> varied = variedValues(vjp);
  llvm::DenseSet<Operation *> useful = usefulOps(vjp);
  llvm::DenseMap<Value, Value> cotangent;
  OpBuilder builder(vjp);
  // Backward ops are inserted right before the vjp, after this op.
  Operation *lastForward = vjp->getPrevNode();

  auto accumulate = [&](Value target, Value grad) {
    auto [it, inserted] = cotangent.try_emplace(target, grad);
    if (!inserted)
      it->second = builder.create<AddOp>(grad.getLoc(), it->second, grad);
  };
  accumulate(vjp.getOutput(), vjp.getSeed());

  // Reverse program order is a reverse topological order of the block.
  SmallVector<Operation *> active;
  for (Operation &op : *vjp->getBlock()) {
    if (&op == vjp.getOperation())
      break;
    if (useful.contains(&op) &&
        llvm::any_of(op.getResults(),
                     [&](Value v) { return varied.contains(v); }))
      active.push_back(&op);
  }
  for (Operation *op : llvm::reverse(active)) {
    SmallVector<Value> resultCts;
    bool anyCotangent = false;
    for (Value result : op->getResults()) {
      Value ct = cotangent.lookup(result);
      anyCotangent |= static_cast<bool>(ct);
      resultCts.push_back(ct);
    }
    if (!anyCotangent)
      continue;
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitError("cannot differentiate '")
             << op->getName() << "': it has no vector-Jacobian product rule";
    SmallVector<Value> operandCts =
        differentiable.buildVJP(builder, resultCts);
    for (auto [operand, ct] : llvm::zip(op->getOperands(), operandCts))
      if (ct && varied.contains(operand))
        accumulate(operand, ct);
  }

  for (auto [wrt, result] : llvm::zip(vjp.getWrt(), vjp.getGradients())) {
    Value grad = cotangent.lookup(wrt);
    if (!grad) {
      // No path from this input to the output: its gradient is zero.
      auto type = wrt.getType().cast<RankedTensorType>();
      grad = builder.create<ConstantOp>(
          vjp.getLoc(), type,
          DenseElementsAttr::get(
              type, builder.getFloatAttr(type.getElementType(), 0.0)));
    }
    result.replaceAllUsesWith(grad);
  }
  // A rule builds a cotangent for every operand; drop the ones no gradient
  // uses (operands that are not differentiated: data, frozen parameters,
  // stop_gradient'ed values), so that the IR shows no backward ops for them.
  Block *block = vjp->getBlock();
  SmallVector<Operation *> backward;
  for (auto it = lastForward ? std::next(lastForward->getIterator())
                             : block->begin();
       &*it != vjp.getOperation(); ++it)
    backward.push_back(&*it);
  vjp.erase();
  for (Operation *op : llvm::reverse(backward))
    if (op->use_empty())
      op->erase();
  return success();
}

struct KilnAutodiffPass : public kiln::impl::KilnAutodiffBase<KilnAutodiffPass> {
  void runOnOperation() override {
    SmallVector<VJPOp> vjps;
    getOperation().walk([&](VJPOp vjp) { vjps.push_back(vjp); });
    // Program order: a later vjp may differentiate through an earlier one's
    // backward ops (higher-order derivatives), which are plain ops by then.
    for (VJPOp vjp : vjps)
      if (failed(expandVJP(vjp)))
        return signalPassFailure();
  }
};
} // namespace
