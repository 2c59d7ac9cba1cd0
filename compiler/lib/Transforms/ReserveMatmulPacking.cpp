//===- ReserveMatmulPacking.cpp - a product's packed B as a planned buffer ===//
//
// kiln-vectorize-matmul runs after the static memory plan, so a buffer it
// needs beyond the stack must exist before the plan: this pass adds it, as
// an input of the product that no iteration reads (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "VectorizeMatmul.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_KILNRESERVEMATMULPACKING
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
using kiln::matmul_codegen::MatmulBlocking;
using kiln::matmul_codegen::MatmulForm;

struct ReserveMatmulPackingPass
    : public kiln::impl::KilnReserveMatmulPackingBase<
          ReserveMatmulPackingPass> {
  using KilnReserveMatmulPackingBase::KilnReserveMatmulPackingBase;

  void runOnOperation() override {
    if (vectorWidth < 2)
      return;
    // The packed panels' shape does not depend on the thread count.
    MatmulBlocking blocking = MatmulBlocking::forTarget(
        vectorWidth, vectorRegisters, l1Bytes, l2Bytes, /*parallel=*/false);
    SmallVector<std::pair<linalg::GenericOp, MemRefType>> products;
    // Top level only: one buffer in a loop would be shared by its lanes.
    for (auto op : getOperation().getFunctionBody().getOps<linalg::GenericOp>())
      if (std::optional<MatmulForm> form =
              kiln::matmul_codegen::matchMatmul(op))
        if (!form->packedB)
          if (MemRefType type = blocking.sharedPanelsType(*form))
            products.push_back({op, type});
    for (auto [op, type] : products)
      addPackedB(op, type);
  }

  /// Replaces `op` by the same product with a `type` buffer as third input.
  static void addPackedB(linalg::GenericOp op, MemRefType type) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value packed =
        b.create<memref::AllocOp>(loc, type, b.getI64IntegerAttr(64));
    SmallVector<Value> inputs;
    for (OpOperand *input : op.getDpsInputOperands())
      inputs.push_back(input->get());
    inputs.push_back(packed);
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    maps.insert(maps.begin() + 2, kiln::matmul_codegen::packedBMap(
                                      type.getRank(), op.getContext()));
    auto product = b.create<linalg::GenericOp>(
        loc, TypeRange{}, inputs, op.getDpsInitOperand(0)->get(), maps,
        op.getIteratorTypesArray());
    product.getRegion().takeBody(op.getRegion());
    product.getRegion().front().insertArgument(2u, type.getElementType(), loc);
    op.erase();
  }
};
} // namespace
