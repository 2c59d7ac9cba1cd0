//===- VectorizeMatmul.cpp - register-blocked f32 matrix products ---------===//
//
// Matrix products dominate training steps. Generic loop vectorization keeps
// C in memory (a load and a store per multiply-add); this pass emits the
// classic BLAS micro-kernel shape instead: a block of C rows x vector
// columns lives in registers for the whole reduction.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineExpr.h"

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZEMATMUL
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// True for `C[i,j] += A[i,k] * B[k,j]` with loops (i, k, j) on static f32
/// memrefs, the form convert-kiln-to-linalg gives a 2-D kiln.matmul.
bool isMatmul(linalg::GenericOp op) {
  if (!op.hasBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::reduction ||
      iterators[2] != utils::IteratorType::parallel)
    return false;
  MLIRContext *ctx = op.getContext();
  AffineExpr i, k, j;
  bindDims(ctx, i, k, j);
  SmallVector<AffineMap> expected = {
      AffineMap::get(3, 0, {i, k}, ctx), AffineMap::get(3, 0, {k, j}, ctx),
      AffineMap::get(3, 0, {i, j}, ctx)};
  if (op.getIndexingMapsArray() != expected)
    return false;
  for (Value operand : op->getOperands()) {
    auto type = operand.getType().dyn_cast<MemRefType>();
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        !type.getLayout().isIdentity())
      return false;
  }
  // The body must be exactly out + a * b.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 3)
    return false;
  auto mul = add.getLhs().getDefiningOp<arith::MulFOp>();
  Value acc = add.getRhs();
  if (!mul) {
    mul = add.getRhs().getDefiningOp<arith::MulFOp>();
    acc = add.getLhs();
  }
  return mul && acc == body.getArgument(2) &&
         ((mul.getLhs() == body.getArgument(0) &&
           mul.getRhs() == body.getArgument(1)) ||
          (mul.getLhs() == body.getArgument(1) &&
           mul.getRhs() == body.getArgument(0)));
}

/// Emits the loop nest for one matmul.
class MatmulEmitter {
public:
  MatmulEmitter(OpBuilder &b, Location loc, Value a, Value bm, Value c,
                int64_t width, int64_t parallelMinWork, bool contract)
      : b(b), loc(loc), a(a), bm(bm), c(c), width(width),
        parallelMinWork(parallelMinWork),
        fastMath(contract ? arith::FastMathFlags::contract
                          : arith::FastMathFlags::none) {
    auto aType = a.getType().cast<MemRefType>();
    auto cType = c.getType().cast<MemRefType>();
    m = cType.getDimSize(0);
    n = cType.getDimSize(1);
    k = aType.getDimSize(1);
    rowBlock = width == 8 ? 4 : 8; // 16 AVX2 registers vs 32 on AVX-512/NEON
    vectorType = VectorType::get({width}, b.getF32Type());
  }

  /// Loop order k-block, column tile, row block (GotoBLAS's): the
  /// kBlock x tile panel of B stays in L1 while every row block of A streams
  /// past it.
  void emit() {
    if (k <= kBlock) {
      kBegin = index(0);
      kEnd = index(k);
      emitColumns();
      return;
    }
    forLoop(0, k, kBlock, [&](Value k0) {
      kBegin = k0;
      kEnd = b.create<arith::MinSIOp>(
          loc, b.create<arith::AddIOp>(loc, k0, index(kBlock)), index(k));
      emitColumns();
    });
  }

private:
  static constexpr int64_t kVectorsPerTile = 2;
  /// Depth of a k block: a 256 x 32 f32 panel of B is 32 KiB, within L1.
  static constexpr int64_t kBlock = 256;

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }

  void forLoop(int64_t lb, int64_t ub, int64_t step,
               llvm::function_ref<void(Value)> body) {
    auto loop = b.create<scf::ForOp>(loc, index(lb), index(ub), index(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// Every column tile of C for the current k block. Threads split the
  /// column tiles: each keeps its B panels to itself (rows would share them,
  /// and every thread would stream all of B), and every element of C is
  /// still summed by one thread in k order.
  void emitColumns() {
    int64_t tile = kVectorsPerTile * width;
    int64_t fullCols = n / tile * tile;
    auto tileBody = [&](Value j) {
      emitRowBlocks(j, kVectorsPerTile, /*tail=*/0);
    };
    if (fullCols >= 2 * tile && parallelMinWork > 0 &&
        m * fullCols * std::min(k, kBlock) >= parallelMinWork)
      parallelLoop(0, fullCols, tile, tileBody);
    else if (fullCols > 0)
      forLoop(0, fullCols, tile, tileBody);
    int64_t rest = n - fullCols;
    if (rest > 0)
      emitRowBlocks(index(fullCols), rest / width, rest % width);
  }

  void parallelLoop(int64_t lb, int64_t ub, int64_t step,
                    llvm::function_ref<void(Value)> body) {
    auto loop = b.create<scf::ParallelOp>(loc, ValueRange{index(lb)},
                                          ValueRange{index(ub)},
                                          ValueRange{index(step)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVars()[0]);
  }

  /// Every row of C for the column tile at j.
  void emitRowBlocks(Value j, int64_t vectors, int64_t tail) {
    int64_t fullRows = m / rowBlock * rowBlock;
    if (fullRows > 0)
      forLoop(0, fullRows, rowBlock, [&](Value i) {
        emitTile(i, rowBlock, j, vectors, tail);
      });
    // The leftover rows form one shorter block: row by row, each row would
    // reload the B panel and run a single FMA chain per k (latency-bound),
    // which made products with few rows (6 output channels) 5x slower.
    if (fullRows < m)
      emitTile(index(fullRows), m - fullRows, j, vectors, tail);
  }

  /// A rows x (vectors * width + tail) block of C at (i, j).
  void emitTile(Value i, int64_t rows, Value j, int64_t vectors,
                int64_t tail) {
    SmallVector<std::pair<Value, Value>> columns; // (column, mask or null)
    for (int64_t v = 0; v < vectors; ++v)
      columns.push_back({offset(j, v * width), Value()});
    if (tail > 0)
      columns.push_back({offset(j, vectors * width), tailMask(tail)});

    SmallVector<Value> init;
    for (int64_t r = 0; r < rows; ++r)
      for (auto [col, mask] : columns)
        init.push_back(load(c, offset(i, r), col, mask));
    auto kLoop = b.create<scf::ForOp>(loc, kBegin, kEnd, index(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kLoop.getBody());
      Value kk = kLoop.getInductionVar();
      SmallVector<Value> bRows;
      for (auto [col, mask] : columns)
        bRows.push_back(load(bm, kk, col, mask));
      SmallVector<Value> next;
      for (int64_t r = 0; r < rows; ++r) {
        Value scalarA = b.create<memref::LoadOp>(
            loc, a, ValueRange{offset(i, r), kk});
        Value broadcastA = b.create<vector::BroadcastOp>(loc, vectorType,
                                                         scalarA);
        // A multiply and an add that LLVM may contract into one fma where
        // the core has the instruction (unless contract=false): vector.fma
        // would be an fmaf call per lane on cores without it (generic
        // x86-64, riscv64 without F).
        for (size_t v = 0; v < columns.size(); ++v) {
          Value product = b.create<arith::MulFOp>(loc, broadcastA, bRows[v],
                                                  fastMath);
          next.push_back(b.create<arith::AddFOp>(
              loc, product, kLoop.getRegionIterArgs()[r * columns.size() + v],
              fastMath));
        }
      }
      b.create<scf::YieldOp>(loc, next);
    }
    for (int64_t r = 0; r < rows; ++r)
      for (auto [v, column] : llvm::enumerate(columns))
        store(kLoop.getResult(r * columns.size() + v), offset(i, r),
              column.first, column.second);
  }

  Value offset(Value base, int64_t delta) {
    if (delta == 0)
      return base;
    return b.create<arith::AddIOp>(loc, base, index(delta));
  }

  Value tailMask(int64_t lanes) {
    auto maskType = VectorType::get({width}, b.getI1Type());
    return b.create<vector::CreateMaskOp>(loc, maskType,
                                          ValueRange{index(lanes)});
  }

  Value load(Value memref, Value row, Value col, Value mask) {
    if (!mask)
      return b.create<vector::LoadOp>(loc, vectorType, memref,
                                      ValueRange{row, col});
    Value zero = b.create<arith::ConstantOp>(
        loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
    return b.create<vector::MaskedLoadOp>(loc, vectorType, memref,
                                          ValueRange{row, col}, mask, zero);
  }

  void store(Value value, Value row, Value col, Value mask) {
    if (!mask)
      b.create<vector::StoreOp>(loc, value, c, ValueRange{row, col});
    else
      b.create<vector::MaskedStoreOp>(loc, c, ValueRange{row, col}, mask,
                                      value);
  }

  OpBuilder &b;
  Location loc;
  Value a, bm, c;
  int64_t width, parallelMinWork, m = 0, n = 0, k = 0, rowBlock = 8;
  arith::FastMathFlags fastMath;
  Value kBegin, kEnd; ///< the current k block
  VectorType vectorType;
};

struct VectorizeMatmulPass
    : public kiln::impl::KilnVectorizeMatmulBase<VectorizeMatmulPass> {
  using KilnVectorizeMatmulBase::KilnVectorizeMatmulBase;

  void runOnOperation() override {
    if (vectorWidth < 2)
      return;
    SmallVector<linalg::GenericOp> matmuls;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isMatmul(op))
        matmuls.push_back(op);
    });
    for (linalg::GenericOp op : matmuls) {
      OpBuilder b(op);
      MatmulEmitter(b, op.getLoc(), op.getDpsInputOperand(0)->get(),
                    op.getDpsInputOperand(1)->get(),
                    op.getDpsInitOperand(0)->get(), vectorWidth,
                    parallelMinWork, contract)
          .emit();
      op.erase();
    }
  }
};
} // namespace
