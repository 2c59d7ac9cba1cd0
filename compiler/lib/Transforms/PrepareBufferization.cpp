//===- PrepareBufferization.cpp - protect caller-owned inputs -------------===//
//
// A compiled step must never scribble over the batch the caller passed in,
// nor over parameters in a function (predict) that does not update them.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPREPAREBUFFERIZATION
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct PrepareBufferizationPass
    : public kiln::impl::KilnPrepareBufferizationBase<
          PrepareBufferizationPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    Builder b(fn.getContext());
    // Later passes rely on both lists existing, one entry per argument and
    // per result ("" for plain inputs and outputs).
    if (!fn->hasAttr("kiln.state_args"))
      fn->setAttr("kiln.state_args",
                  b.getStrArrayAttr(SmallVector<StringRef>(
                      fn.getNumArguments(), StringRef())));
    if (!fn->hasAttr("kiln.state_results"))
      fn->setAttr("kiln.state_results",
                  b.getStrArrayAttr(SmallVector<StringRef>(
                      fn.getNumResults(), StringRef())));
    llvm::StringSet<> updated;
    if (auto results = fn->getAttrOfType<ArrayAttr>("kiln.state_results"))
      for (Attribute name : results)
        if (!name.cast<StringAttr>().getValue().empty())
          updated.insert(name.cast<StringAttr>().getValue());
    auto args = fn->getAttrOfType<ArrayAttr>("kiln.state_args");
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
