//===- TileTransposes.cpp - cache-friendly 2-D transposes -----------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {
#define GEN_PASS_DEF_KILNTILETRANSPOSES
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// A copy `out[i, j] = in[j, i]` on memrefs, the form convert-kiln-to-linalg
/// gives a 2-D kiln.transpose.
bool isTranspose2D(linalg::GenericOp op) {
  if (!op.hasBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 2 ||
      op.getNumReductionLoops() != 0)
    return false;
  MLIRContext *ctx = op.getContext();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  SmallVector<AffineMap> expected = {AffineMap::get(2, 0, {j, i}, ctx),
                                     AffineMap::get(2, 0, {i, j}, ctx)};
  Block &body = op.getRegion().front();
  return op.getIndexingMapsArray() == expected &&
         body.getOperations().size() == 1 &&
         body.getTerminator()->getOperand(0) == body.getArgument(0);
}

/// Emits `out[i, j] = in[j, i]` as loops over square tiles. scf loops on
/// purpose: the affine super-vectorizer would try to vectorize them along
/// the strided dimension.
void emitTiledTranspose(OpBuilder &b, Location loc, Value in, Value out,
                        int64_t tile) {
  auto outType = out.getType().cast<MemRefType>();
  int64_t rows = outType.getDimSize(0), cols = outType.getDimSize(1);
  auto index = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  auto loop = [&](Value lb, Value ub, Value step, auto body) {
    auto forOp = b.create<scf::ForOp>(loc, lb, ub, step);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    body(forOp.getInductionVar());
  };
  // min(start + tile, extent)
  auto tileEnd = [&](Value start, int64_t extent) {
    Value end = b.create<arith::AddIOp>(loc, start, index(tile));
    return b.create<arith::MinSIOp>(loc, end, index(extent)).getResult();
  };
  Value zero = index(0), one = index(1), step = index(tile);
  loop(zero, index(rows), step, [&](Value i0) {
    loop(zero, index(cols), step, [&](Value j0) {
      loop(i0, tileEnd(i0, rows), one, [&](Value i) {
        loop(j0, tileEnd(j0, cols), one, [&](Value j) {
          Value v = b.create<memref::LoadOp>(loc, in, ValueRange{j, i});
          b.create<memref::StoreOp>(loc, v, out, ValueRange{i, j});
        });
      });
    });
  });
}

struct TileTransposesPass
    : public kiln::impl::KilnTileTransposesBase<TileTransposesPass> {
  using KilnTileTransposesBase::KilnTileTransposesBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> transposes;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isTranspose2D(op))
        transposes.push_back(op);
    });
    for (linalg::GenericOp op : transposes) {
      OpBuilder b(op);
      emitTiledTranspose(b, op.getLoc(), op.getDpsInputOperand(0)->get(),
                         op.getDpsInitOperand(0)->get(), tileSize);
      op.erase();
    }
  }
};
} // namespace
