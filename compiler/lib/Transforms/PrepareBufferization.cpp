//===- PrepareBufferization.cpp - protect caller-owned inputs -------------===//
//
// A compiled step must never scribble over the batch the caller passed in,
// nor over parameters in a function (predict) that does not update them.
// And each destination gets its own tensor.empty: CSE merges the identical
// empties of repeated code (the micro-batches of gradient accumulation), and
// bufferization would then write all of them in place into one buffer that
// lives from the first micro-batch to the last, so the memory plan could not
// reuse the bytes of one micro-batch's activations for the next.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPREPAREBUFFERIZATION
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// Gives every use of a shared tensor.empty, or of a shared linalg.fill of
/// one (a zero accumulator), its own copy, created right before the user:
/// a fresh buffer there instead of a copy of a long-lived one.
void splitSharedDestinations(func::FuncOp fn) {
  SmallVector<Operation *> shared;
  fn.walk([&](Operation *op) {
    bool fillOfEmpty = false;
    if (auto fill = dyn_cast<linalg::FillOp>(op))
      fillOfEmpty = fill.getNumResults() == 1 &&
                    fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
    if ((isa<tensor::EmptyOp>(op) || fillOfEmpty) &&
        op->getNumResults() == 1 && !op->getResult(0).hasOneUse() &&
        !op->use_empty())
      shared.push_back(op);
  });
  for (Operation *op : shared) {
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : op->getUses())
      uses.push_back(&use);
    for (OpOperand *use : uses) {
      OpBuilder b(use->getOwner());
      IRMapping map;
      if (auto fill = dyn_cast<linalg::FillOp>(op)) {
        Operation *empty = fill.getOutputs()[0].getDefiningOp();
        map.map(empty->getResult(0), b.clone(*empty)->getResult(0));
      }
      use->set(b.clone(*op, map)->getResult(0));
    }
    Operation *empty = nullptr;
    if (auto fill = dyn_cast<linalg::FillOp>(op))
      empty = fill.getOutputs()[0].getDefiningOp();
    op->erase();
    if (empty && empty->use_empty())
      empty->erase();
  }
}

struct PrepareBufferizationPass
    : public kiln::impl::KilnPrepareBufferizationBase<
          PrepareBufferizationPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    splitSharedDestinations(fn);
    Builder b(fn.getContext());
    // Later passes rely on both lists existing, one entry per argument and
    // per result ("" for plain inputs and outputs).
    if (!fn->hasAttr(kiln::KilnDialect::getStateArgsAttrName()))
      fn->setAttr(kiln::KilnDialect::getStateArgsAttrName(),
                  b.getStrArrayAttr(SmallVector<StringRef>(fn.getNumArguments(),
                                                           StringRef())));
    if (!fn->hasAttr(kiln::KilnDialect::getStateResultsAttrName()))
      fn->setAttr(kiln::KilnDialect::getStateResultsAttrName(),
                  b.getStrArrayAttr(
                      SmallVector<StringRef>(fn.getNumResults(), StringRef())));
    llvm::StringSet<> updated;
    if (auto results = fn->getAttrOfType<ArrayAttr>(
            kiln::KilnDialect::getStateResultsAttrName()))
      for (Attribute name : results)
        if (!name.cast<StringAttr>().getValue().empty())
          updated.insert(name.cast<StringAttr>().getValue());
    auto args =
        fn->getAttrOfType<ArrayAttr>(kiln::KilnDialect::getStateArgsAttrName());
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      StringRef name;
      if (args && i < args.size())
        name = args[i].cast<StringAttr>().getValue();
      bool writable = !name.empty() && updated.contains(name);
      fn.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                    b.getBoolAttr(writable));
    }
  }
};
} // namespace
