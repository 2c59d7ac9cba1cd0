//===- OutlineMatmuls.cpp - one private function per matrix product form --===//
//
// kiln-vectorize-matmul turns every product into a packed, register-blocked
// loop nest with several fully unrolled tile variants. Left where they are,
// a training step holds all of them in one function, and LLVM's function
// passes, which grow faster than linearly with a function's size, spent most
// of a model's compile time there; the forward products of predict were the
// same code compiled a second time. Outlined, each form is compiled once, in
// a small function.
//
//===----------------------------------------------------------------------===//

#include "VectorizeMatmul.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

namespace kiln {
#define GEN_PASS_DEF_KILNOUTLINEMATMULS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// The loops and operands of a 2-D matrix product on static, contiguous f32
/// memrefs. Whether the body is a multiply-add is kiln-vectorize-matmul's
/// question: the outlined function holds the same generic, so whatever it
/// decides there it would have decided in place.
bool hasMatmulLoops(linalg::GenericOp op) {
  // A third input: the packed B that kiln-reserve-matmul-packing adds.
  if (!op.hasBufferSemantics() ||
      (op.getNumDpsInputs() != 2 && op.getNumDpsInputs() != 3) ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::reduction ||
      iterators[2] != utils::IteratorType::parallel)
    return false;
  return llvm::all_of(op->getOperandTypes(), [](Type type) {
    auto memref = type.dyn_cast<MemRefType>();
    return memref && memref.hasStaticShape() &&
           memref.getElementType().isF32() && memref.getLayout().isIdentity();
  });
}

/// The fill of a constant into the product's C that comes before it with
/// nothing between them that touches memory (see
/// matmul_codegen::fillBefore), if any: it moves into the outlined function,
/// where kiln-vectorize-matmul folds it into the product's first k block.
linalg::FillOp constantFillBefore(linalg::GenericOp op) {
  linalg::FillOp fill =
      kiln::matmul_codegen::fillBefore(op, op.getDpsInitOperand(0)->get());
  if (!fill ||
      !fill.getDpsInputOperand(0)->get().getDefiningOp<arith::ConstantOp>())
    return nullptr;
  return fill;
}

/// "kiln_matmul_<M>x<K>x<N>" with "_ta"/"_tb" for a transposed operand (its
/// map swaps its dimensions), read from the shapes of A and C, and "_init"
/// where the function fills C first.
std::string nameFor(linalg::GenericOp op, bool fillsC) {
  auto shapeOf = [](OpOperand *operand) {
    return operand->get().getType().cast<MemRefType>().getShape();
  };
  ArrayRef<int64_t> aShape = shapeOf(op.getDpsInputOperand(0));
  ArrayRef<int64_t> cShape = shapeOf(op.getDpsInitOperand(0));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MLIRContext *ctx = op.getContext();
  AffineExpr i, k, j;
  bindDims(ctx, i, k, j);
  bool transposedA = maps[0] == AffineMap::get(3, 0, {k, i}, ctx);
  bool transposedB = maps[1] == AffineMap::get(3, 0, {j, k}, ctx);
  int64_t depth = aShape[transposedA ? 0 : 1];
  std::string name = "kiln_matmul_" + std::to_string(cShape[0]) + "x" +
                     std::to_string(depth) + "x" + std::to_string(cShape[1]);
  if (transposedA)
    name += "_ta";
  if (transposedB)
    name += "_tb";
  if (fillsC)
    name += "_init";
  return name;
}

/// The body's text (the generic, after a fill of C if any) with the
/// operands renamed to the function's arguments: equal keys, equal
/// functions.
std::string formKey(func::FuncOp outlined) {
  std::string key;
  llvm::raw_string_ostream os(key);
  for (Operation &op : outlined.getFunctionBody().front()) {
    op.print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
    os << "\n";
  }
  os << outlined.getFunctionType();
  return key;
}

struct OutlineMatmulsPass
    : public kiln::impl::KilnOutlineMatmulsBase<OutlineMatmulsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::GenericOp> sites;
    for (auto fn : module.getOps<func::FuncOp>())
      fn.walk([&](linalg::GenericOp op) {
        if (hasMatmulLoops(op))
          sites.push_back(op);
      });
    SymbolTable symbols(module);
    llvm::StringMap<func::FuncOp> functionForForm;
    for (linalg::GenericOp op : sites) {
      linalg::FillOp fill = constantFillBefore(op);
      func::FuncOp outlined = createFunction(op, fill);
      if (fill)
        fill.erase();
      std::string key = formKey(outlined);
      auto [existing, isNew] = functionForForm.try_emplace(key, outlined);
      if (isNew)
        symbols.insert(outlined); // Renames it if the name is taken.
      else
        outlined.erase();
      OpBuilder b(op);
      b.create<func::CallOp>(op.getLoc(), existing->second, op->getOperands());
      op.erase();
    }
  }

  /// A private function at the end of the module (not yet in its symbol
  /// table) whose body is a copy of `op` on its arguments, after a copy of
  /// `fill` (and of its constant) where given.
  func::FuncOp createFunction(linalg::GenericOp op, linalg::FillOp fill) {
    ModuleOp module = getOperation();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto type = b.getFunctionType(op->getOperandTypes(), {});
    auto fn = b.create<func::FuncOp>(op.getLoc(), nameFor(op, bool(fill)),
                                     type);
    fn.setPrivate();
    // Internal: no symbol in the object, so two models' objects link
    // together. noinline: LLVM would otherwise inline a function with one
    // call site straight back. kMatrixProductAttr: which loops LLVM
    // unrolls depends on it (LLVMTarget.cpp).
    fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(
                                    b.getContext(), LLVM::Linkage::Internal));
    fn->setAttr("passthrough",
                b.getArrayAttr({b.getStringAttr("noinline"),
                                b.getStringAttr(kiln::kMatrixProductAttr)}));
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping arguments;
    arguments.map(op->getOperands(), entry->getArguments());
    if (fill) {
      b.clone(*fill.getDpsInputOperand(0)->get().getDefiningOp(), arguments);
      b.clone(*fill, arguments);
    }
    b.clone(*op, arguments);
    b.create<func::ReturnOp>(op.getLoc());
    return fn;
  }
};
} // namespace
