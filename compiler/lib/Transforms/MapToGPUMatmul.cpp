//===- MapToGPUMatmul.cpp - matrix products as shared-memory tiled kernels ===//
//
// The classic SGEMM shape: each block of 256 threads computes a 64x64 tile
// of C; per step of 16 along k, the threads copy a 64x16 tile of A and a
// 16x64 tile of B into shared memory (each element read from global memory
// once per block instead of once per output), wait at a barrier, then each
// thread multiplies out its own 4x4 tile of C, kept in private memory
// (registers, once LLVM has unrolled the constant-index accesses). Either
// operand may be transposed: the copy is ordered so that neighbouring
// threads read neighbouring addresses of the operand as it is stored.
// Only memory crosses the barriers, so kiln-emulate-gpu-launches runs the
// kernel exactly. Each output's sum is still C + a0*b0 + a1*b1 + ..., in
// the CPU's order.
//
// With `tf32` the staged tiles are multiplied by tensor cores instead:
// each warp of the block owns a 16x32 slice of the C tile, four 16x8
// accumulators of `mma.sync.m16n8k8` (TF32 inputs rounded to nearest, FP32
// sums in the hardware's order), two k-steps of 8 per staged tile. The
// accumulators live where the 4x4 tile did, so staging and the final store
// are the same code; such a kernel is not emulated (a warp-wide op).
//
//===----------------------------------------------------------------------===//

#include "MapToGPU.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace kiln::gpu_mapping {
namespace {
// A block's C tile, the depth of one step along k, a thread's C tile.
constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int64_t kThreadM = 4, kThreadN = 4;
constexpr int64_t kThreadsN = kTileN / kThreadN, kThreadsM = kTileM / kThreadM;
constexpr int64_t kThreads = kThreadsM * kThreadsN;
// A and B tiles share one shape, [k][m or n], and one copy loop.
static_assert(kTileM == kTileN, "one staged tile shape for A and B");
// One more column than the tile: a column of the staged tile then spans
// all 32 shared-memory banks when threads store along k.
constexpr int64_t kSharedRow = kTileM + 1;

// Tensor cores: mma.sync.m16n8k8 (TF32 in, FP32 out), warps laid out 4 (m)
// by 2 (n), each warp 16 rows by 4 mma tiles of 8 columns. The
// accumulators of a thread are 4 tiles x 4 values: the 4x4 private tile.
constexpr int64_t kWarpSize = 32, kMmaM = 16, kMmaN = 8, kMmaK = 8;
constexpr int64_t kWarpsN = 2, kWarpTileN = kTileN / kWarpsN;
static_assert(kThreads / kWarpSize == (kTileM / kMmaM) * kWarpsN &&
                  kWarpTileN / kMmaN == kThreadM && kThreadN == 4 &&
                  kTileK % kMmaK == 0,
              "the mma tiles fill the block's C tile and the private tile");
// Lane (g = lane / 4, t = lane % 4) reads row t (+4) and column g (+8) of
// a staged tile: a row stride of 4 mod 32 banks puts the 32 lanes on 32
// distinct banks.
constexpr int64_t kMmaSharedRow = kTileM + 4;

/// Loop dims of a matmul-shaped op: C[m, n] += A[m|k, k|m] * B[k|n, n|k].
struct MatmulDims {
  unsigned m, n, k;
  OpOperand *a, *b, *c;
};

/// The dims of `map`'s results, if they are all plain dims.
std::optional<SmallVector<unsigned, 2>> dimsOf(AffineMap map) {
  SmallVector<unsigned, 2> dims;
  for (AffineExpr expr : map.getResults()) {
    auto dim = expr.dyn_cast<AffineDimExpr>();
    if (!dim)
      return std::nullopt;
    dims.push_back(dim.getPosition());
  }
  return dims;
}

bool sameDims(ArrayRef<unsigned> dims, unsigned x, unsigned y) {
  return dims.size() == 2 &&
         ((dims[0] == x && dims[1] == y) || (dims[0] == y && dims[1] == x));
}

/// `op` is C += A * B over static f32 memrefs with a body of exactly a
/// multiply and an add into the accumulator.
std::optional<MatmulDims> matchMatmul(linalg::LinalgOp op) {
  if (!op.hasBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  for (Value operand : op->getOperands()) {
    auto type = operand.getType().dyn_cast<MemRefType>();
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getRank() != 2)
      return std::nullopt;
  }
  MatmulDims dims;
  dims.c = op.getDpsInitOperand(0);
  auto cDims = dimsOf(op.getMatchingIndexingMap(dims.c));
  if (!cDims || cDims->size() != 2 || (*cDims)[0] == (*cDims)[1])
    return std::nullopt;
  dims.m = (*cDims)[0];
  dims.n = (*cDims)[1];
  dims.k = 3 - dims.m - dims.n; // the one dim left of {0, 1, 2}
  auto aDims = dimsOf(op.getMatchingIndexingMap(op.getDpsInputOperand(0)));
  auto bDims = dimsOf(op.getMatchingIndexingMap(op.getDpsInputOperand(1)));
  if (!aDims || !bDims)
    return std::nullopt;
  dims.a = op.getDpsInputOperand(0);
  dims.b = op.getDpsInputOperand(1);
  if (sameDims(*aDims, dims.k, dims.n) && sameDims(*bDims, dims.m, dims.k)) {
    std::swap(dims.a, dims.b);
    std::swap(aDims, bDims);
  }
  if (!sameDims(*aDims, dims.m, dims.k) || !sameDims(*bDims, dims.k, dims.n))
    return std::nullopt;

  Block *body = op.getBlock();
  BlockArgument accumulator = body->getArgument(dims.c->getOperandNumber());
  auto add =
      body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body->getOperations().size() != 3 || !accumulator.hasOneUse())
    return std::nullopt;
  Value product = add.getLhs() == accumulator ? add.getRhs() : add.getLhs();
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || !llvm::is_contained(add->getOperands(), accumulator))
    return std::nullopt;
  BlockArgument aArg = body->getArgument(dims.a->getOperandNumber());
  BlockArgument bArg = body->getArgument(dims.b->getOperandNumber());
  if (!((mul.getLhs() == aArg && mul.getRhs() == bArg) ||
        (mul.getLhs() == bArg && mul.getRhs() == aArg)))
    return std::nullopt;
  return dims;
}

/// `x` rounded to TF32 (10 mantissa bits; ties away from zero, as
/// cvt.rna.tf32.f32), as the .b32 register mma.sync takes. Infinities and
/// NaNs pass unchanged.
Value roundToTF32(OpBuilder &b, Location loc, Value x) {
  auto i32 = [&](int32_t v) {
    return b.create<arith::ConstantIntOp>(loc, v, 32).getResult();
  };
  Value bits = b.create<arith::BitcastOp>(loc, b.getI32Type(), x);
  Value rounded = b.create<arith::AndIOp>(
      loc, b.create<arith::AddIOp>(loc, bits, i32(0x1000)), i32(~0x1fff));
  Value exponent = b.create<arith::AndIOp>(loc, bits, i32(0x7f800000));
  Value special = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                          exponent, i32(0x7f800000));
  return b.create<arith::SelectOp>(loc, special, bits, rounded);
}

/// Lane g * 4 + t (g = lane / 4, t = lane % 4) of warp `warp`: the first
/// row and column of its warp's 16x32 slice of the block's C tile, and g, t.
struct MmaLane {
  Value warpRow, warpCol, g, t;
};

MmaLane mmaLaneOf(OpBuilder &b, Location loc, Value thread) {
  auto c = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  Value warp = b.create<arith::DivUIOp>(loc, thread, c(kWarpSize));
  Value lane = b.create<arith::RemUIOp>(loc, thread, c(kWarpSize));
  MmaLane result;
  result.g = b.create<arith::DivUIOp>(loc, lane, c(4));
  result.t = b.create<arith::RemUIOp>(loc, lane, c(4));
  result.warpRow = b.create<arith::MulIOp>(
      loc, b.create<arith::DivUIOp>(loc, warp, c(kWarpsN)), c(kMmaM));
  result.warpCol = b.create<arith::MulIOp>(
      loc, b.create<arith::RemUIOp>(loc, warp, c(kWarpsN)), c(kWarpTileN));
  return result;
}

/// One staged k-tile on tensor cores: per k-step of 8, this lane loads its
/// A fragment (rows g, g + 8; columns t, t + 4 of the warp's 16x8 slice of
/// A) and, for each of the warp's 4 mma tiles, its B fragment (rows t,
/// t + 4; column g) and accumulates with one mma.sync.m16n8k8. The
/// fragment layouts are PTX's for .row.col .tf32; the tiles are staged as
/// [k][m] and [k][n].
void emitTensorCoreSteps(OpBuilder &b, Location loc, Value thread,
                         Value aTile, Value bTile, Value cTile) {
  auto c = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  auto add = [&](Value x, int64_t y) {
    return b.create<arith::AddIOp>(loc, x, c(y)).getResult();
  };
  MmaLane lane = mmaLaneOf(b, loc, thread);
  Value t = lane.t;
  Value aRow = b.create<arith::AddIOp>(loc, lane.warpRow, lane.g);
  Value bCol = b.create<arith::AddIOp>(loc, lane.warpCol, lane.g);
  auto fragment = [&](Value tile, Value k, Value outer) {
    return roundToTF32(
        b, loc, b.create<memref::LoadOp>(loc, tile, ValueRange{k, outer}));
  };
  Type f32 = b.getF32Type();
  Type resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, f32));
  for (int64_t step = 0; step < kTileK; step += kMmaK) {
    Value k0 = add(t, step), k4 = add(t, step + 4);
    SmallVector<Value, 4> aFragment = {
        fragment(aTile, k0, aRow), fragment(aTile, k0, add(aRow, 8)),
        fragment(aTile, k4, aRow), fragment(aTile, k4, add(aRow, 8))};
    for (int64_t tile = 0; tile < kWarpTileN / kMmaN; ++tile) {
      Value col = add(bCol, tile * kMmaN);
      SmallVector<Value, 2> bFragment = {fragment(bTile, k0, col),
                                         fragment(bTile, k4, col)};
      SmallVector<Value, 4> accumulators;
      for (int64_t v = 0; v < 4; ++v)
        accumulators.push_back(
            b.create<memref::LoadOp>(loc, cTile, ValueRange{c(tile), c(v)}));
      auto mma = b.create<NVVM::MmaOp>(
          loc, resultType, aFragment, bFragment, accumulators,
          ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK}, std::nullopt, std::nullopt,
          std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::tf32,
                                        NVVM::MMATypes::tf32},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
      for (int64_t v = 0; v < 4; ++v)
        b.create<memref::StoreOp>(
            loc, b.create<LLVM::ExtractValueOp>(loc, mma, v), cTile,
            ValueRange{c(tile), c(v)});
    }
  }
}
} // namespace

std::optional<LogicalResult>
KernelBuilder::buildTiledMatmul(linalg::LinalgOp op) {
  std::optional<MatmulDims> dims = matchMatmul(op);
  if (!dims)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t sizeM = ranges[dims->m], sizeN = ranges[dims->n],
          sizeK = ranges[dims->k];
  // A product narrower than a tile (a 10-class output layer) keeps more
  // threads busy one per output.
  if (sizeM < kTileM || sizeN < kTileN ||
      sizeM * sizeN * sizeK < shapes.tiledMatmulMinWork)
    return std::nullopt;
  int64_t tilesN = llvm::divideCeil(sizeN, kTileN);
  int64_t blocks = llvm::divideCeil(sizeM, kTileM) * tilesN;

  Location loc = op.getLoc();
  OpBuilder b(op);
  gpu::LaunchOp launch = createLaunch(op, blocks, kThreads, b);
  FloatType f32 = b.getF32Type();
  bool tensorCores = shapes.tf32Matmuls;
  auto sharedType = MemRefType::get(
      {kTileK, tensorCores ? kMmaSharedRow : kSharedRow}, f32,
      MemRefLayoutAttrInterface(), b.getI64IntegerAttr(kWorkgroupMemorySpace));
  Value aTile = b.create<memref::AllocaOp>(loc, sharedType);
  Value bTile = b.create<memref::AllocaOp>(loc, sharedType);
  Value cTile = b.create<memref::AllocaOp>(
      loc, MemRefType::get({kThreadM, kThreadN}, f32));

  auto c = [&](int64_t v) { return index(b, loc, v); };
  auto add = [&](Value x, Value y) {
    return b.create<arith::AddIOp>(loc, x, y).getResult();
  };
  auto mul = [&](Value x, int64_t y) {
    return b.create<arith::MulIOp>(loc, x, c(y)).getResult();
  };
  auto below = [&](Value x, int64_t bound) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, c(bound))
        .getResult();
  };
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  // Loads `operand` at (dim -> value) `at`, or 0 outside the matrix.
  auto loadOrZero = [&](OpOperand *operand, DenseMap<unsigned, Value> at,
                        Value inside) -> FailureOr<Value> {
    FailureOr<Value> memref = materialize(operand->get(), b);
    if (failed(memref))
      return failure();
    SmallVector<Value> ivs(3);
    for (auto [dim, value] : at)
      ivs[dim] = value;
    auto guarded = b.create<scf::IfOp>(loc, f32, inside, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(guarded.thenBlock());
    Value loaded =
        b.create<memref::LoadOp>(loc, *memref, indicesOf(b, op, operand, ivs));
    b.create<scf::YieldOp>(loc, loaded);
    b.setInsertionPointToStart(guarded.elseBlock());
    b.create<scf::YieldOp>(loc, zero);
    return guarded.getResult(0);
  };

  // Where this thread's outputs are. Plain kernel: rows rowBase + 16 i,
  // columns colBase + 16 j, so that a warp's loads of B from shared memory
  // (and its stores of C) are neighbouring addresses. Tensor cores: value j
  // of mma tile i, as mma.sync's accumulator fragment places it (lane
  // g * 4 + t holds rows g and g + 8, columns 2t and 2t + 1).
  Value block = launch.getBlockIds().x, thread = launch.getThreadIds().x;
  auto threadRowCol = [&]() {
    Value tileRow = b.create<arith::DivUIOp>(loc, block, c(tilesN));
    Value tileCol = b.create<arith::RemUIOp>(loc, block, c(tilesN));
    Value threadRow, threadCol;
    if (tensorCores) {
      MmaLane lane = mmaLaneOf(b, loc, thread);
      threadRow = add(lane.warpRow, lane.g);
      threadCol = add(lane.warpCol, mul(lane.t, 2));
    } else {
      threadRow = b.create<arith::DivUIOp>(loc, thread, c(kThreadsN));
      threadCol = b.create<arith::RemUIOp>(loc, thread, c(kThreadsN));
    }
    return std::make_tuple(mul(tileRow, kTileM), mul(tileCol, kTileN),
                           threadRow, threadCol);
  };
  Value rowBase, colBase, threadRow, threadCol;
  std::tie(rowBase, colBase, threadRow, threadCol) = threadRowCol();
  auto outputAt = [&](int64_t i, int64_t j) {
    Value row = add(rowBase, threadRow), col = add(colBase, threadCol);
    if (tensorCores)
      return std::make_pair(add(row, c(j / 2 * 8)),
                            add(col, c(i * kMmaN + j % 2)));
    return std::make_pair(add(row, c(i * kThreadsM)),
                          add(col, c(j * kThreadsN)));
  };
  auto inC = [&](Value row, Value col) {
    return b.create<arith::AndIOp>(loc, below(row, sizeM), below(col, sizeN))
        .getResult();
  };

  // The C tile starts from C, so each sum runs in the CPU's order.
  for (int64_t i = 0; i < kThreadM; ++i)
    for (int64_t j = 0; j < kThreadN; ++j) {
      auto [row, col] = outputAt(i, j);
      FailureOr<Value> start =
          loadOrZero(dims->c, {{dims->m, row}, {dims->n, col}}, inC(row, col));
      if (failed(start))
        return failure();
      b.create<memref::StoreOp>(loc, *start, cTile, ValueRange{c(i), c(j)});
    }

  // Not needed for correctness (the loop's first copy touches only shared
  // memory no thread has used yet), but it makes every phase boundary of
  // the emulation a real barrier: kiln-emulate-gpu-launches insists.
  Value firstStep = c(0), lastStep = c(llvm::divideCeil(sizeK, kTileK)),
        oneStep = c(1);
  b.create<gpu::BarrierOp>(loc);
  auto steps = b.create<scf::ForOp>(loc, firstStep, lastStep, oneStep);
  b.setInsertionPoint(steps.getBody()->getTerminator());
  Value kBase = mul(steps.getInductionVar(), kTileK);
  // Stages one operand's tile, as tile[k][row-or-column]; `outer` is the
  // operand's m or n dim. Element e of the copy is loaded by thread
  // e mod 256, the operand's contiguous dim varying fastest.
  auto stage = [&](OpOperand *operand, unsigned outer, Value outerBase,
                   int64_t outerSize, Value tile) {
    bool kContiguous =
        dimsOf(op.getMatchingIndexingMap(operand))->back() == dims->k;
    for (int64_t round = 0; round < kTileK * kTileM / kThreads; ++round) {
      Value element = add(thread, c(round * kThreads));
      Value kk, oo;
      if (kContiguous) {
        kk = b.create<arith::RemUIOp>(loc, element, c(kTileK));
        oo = b.create<arith::DivUIOp>(loc, element, c(kTileK));
      } else {
        kk = b.create<arith::DivUIOp>(loc, element, c(kTileM));
        oo = b.create<arith::RemUIOp>(loc, element, c(kTileM));
      }
      Value k = add(kBase, kk), o = add(outerBase, oo);
      Value inside =
          b.create<arith::AndIOp>(loc, below(k, sizeK), below(o, outerSize));
      FailureOr<Value> value =
          loadOrZero(operand, {{dims->k, k}, {outer, o}}, inside);
      if (failed(value))
        return failure();
      b.create<memref::StoreOp>(loc, *value, tile, ValueRange{kk, oo});
    }
    return success();
  };
  if (failed(stage(dims->a, dims->m, rowBase, sizeM, aTile)) ||
      failed(stage(dims->b, dims->n, colBase, sizeN, bTile)))
    return failure();
  b.create<gpu::BarrierOp>(loc);

  // This thread's 4x4 outer products over the staged depth, through the
  // op's own multiply and add (or the warp's mma tiles).
  if (tensorCores) {
    emitTensorCoreSteps(b, loc, thread, aTile, bTile, cTile);
  } else {
    auto depth = b.create<scf::ForOp>(loc, c(0), c(kTileK), c(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(depth.getBody()->getTerminator());
    Value kk = depth.getInductionVar();
    SmallVector<Value> aValues, bValues;
    for (int64_t i = 0; i < kThreadM; ++i)
      aValues.push_back(b.create<memref::LoadOp>(
          loc, aTile, ValueRange{kk, add(threadRow, c(i * kThreadsM))}));
    for (int64_t j = 0; j < kThreadN; ++j)
      bValues.push_back(b.create<memref::LoadOp>(
          loc, bTile, ValueRange{kk, add(threadCol, c(j * kThreadsN))}));
    Block *body = op.getBlock();
    for (int64_t i = 0; i < kThreadM; ++i)
      for (int64_t j = 0; j < kThreadN; ++j) {
        IRMapping elementMapping;
        elementMapping.map(body->getArgument(dims->a->getOperandNumber()),
                           aValues[i]);
        elementMapping.map(body->getArgument(dims->b->getOperandNumber()),
                           bValues[j]);
        elementMapping.map(
            body->getArgument(dims->c->getOperandNumber()),
            b.create<memref::LoadOp>(loc, cTile, ValueRange{c(i), c(j)}));
        for (Operation &nested : body->without_terminator())
          b.clone(nested, elementMapping);
        b.create<memref::StoreOp>(
            loc, elementMapping.lookup(body->getTerminator()->getOperand(0)),
            cTile, ValueRange{c(i), c(j)});
      }
  }
  b.create<gpu::BarrierOp>(loc);

  // Back to C, after the loop over k.
  b.setInsertionPointAfter(steps);
  mapping.clear(); // no value read before a barrier is reused after it
  std::tie(rowBase, colBase, threadRow, threadCol) = threadRowCol();
  FailureOr<Value> memref = materialize(dims->c->get(), b);
  if (failed(memref))
    return failure();
  for (int64_t i = 0; i < kThreadM; ++i)
    for (int64_t j = 0; j < kThreadN; ++j) {
      auto [row, col] = outputAt(i, j);
      auto guarded = b.create<scf::IfOp>(loc, inC(row, col), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(guarded.thenBlock());
      SmallVector<Value> ivs(3);
      ivs[dims->m] = row;
      ivs[dims->n] = col;
      b.create<memref::StoreOp>(
          loc, b.create<memref::LoadOp>(loc, cTile, ValueRange{c(i), c(j)}),
          *memref, indicesOf(b, op, dims->c, ivs));
    }
  op->erase();
  return success();
}

} // namespace kiln::gpu_mapping
