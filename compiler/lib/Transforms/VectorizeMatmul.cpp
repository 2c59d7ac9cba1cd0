//===- VectorizeMatmul.cpp - register-blocked f32 matrix products ---------===//
//
// Matrix products dominate training steps. Generic loop vectorization keeps
// C in memory (a load and a store per multiply-add); this pass emits the
// classic BLAS micro-kernel shape instead: a block of C rows x vector
// columns lives in registers for the whole reduction. The packing copies
// are in VectorizeMatmulPacking.cpp.
//
//===----------------------------------------------------------------------===//

#include "VectorizeMatmul.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZEMATMUL
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln::matmul_codegen {

/// Workers of a parallel matmul, each packing into its own panel buffer.
constexpr int64_t kParallelPackSlots = 8;

/// The k steps of a tile that run after the prefetch of the next tile's C
/// where C's rows alias in L1 (see emitTile): ~400 cycles of FMAs on AVX2,
/// time for a line from L3 or memory, too short for the set's other lines
/// (the panel of B, A) to evict it.
constexpr int64_t kPrefetchLead = 64;

/// One way of a 32 KiB 8-way L1 (Zen, Skylake): rows a multiple of it
/// apart share an L1 set.
constexpr int64_t kL1WayBytes = 4096;

/// The size of the blocks that split `size` into as few blocks of at most
/// `limit` as possible, all of one size rounded up to a multiple of `unit`
/// (at most `limit`, itself a multiple), the last one shorter. Blocks of
/// `limit` would leave a short last one, as costly in packing and in loads
/// and stores of C as a full one: k = 784 in KC = 256 blocks had a 16-deep
/// fourth, m = 1024 in MC = 126-row chunks a 16-row ninth.
static int64_t balancedBlock(int64_t size, int64_t limit, int64_t unit) {
  int64_t blocks = llvm::divideCeil(size, limit);
  int64_t block = llvm::alignTo(llvm::divideCeil(size, blocks), unit);
  return std::min(limit, block);
}

int64_t MatmulForm::rows() const {
  return c.getType().cast<MemRefType>().getDimSize(0);
}

int64_t MatmulForm::depth() const {
  return a.getType().cast<MemRefType>().getDimSize(transposedA ? 0 : 1);
}

// Whole vectors deep: a transposed B packs width x width blocks.
int64_t MatmulBlocking::kBlockFor(int64_t k) const {
  return k <= kBlock ? k : balancedBlock(k, kBlock, width);
}

int64_t MatmulBlocking::rowChunkFor(int64_t m) const {
  return balancedBlock(m, rowChunk, rowBlock);
}

bool MatmulBlocking::outgrowsL2(Value memref) const {
  auto type = memref.getType().cast<MemRefType>();
  return type.getNumElements() * int64_t(sizeof(float)) > l2Bytes;
}

bool MatmulBlocking::packsA(const MatmulForm &form) const {
  auto cType = form.c.getType().cast<MemRefType>();
  return form.transposedA || (cType.getDimSize(0) > 2 * rowChunk &&
                              cType.getDimSize(1) > 2 * tileColumns());
}

MemRefType MatmulBlocking::sharedPanelsType(const MatmulForm &form) const {
  auto cType = form.c.getType().cast<MemRefType>();
  int64_t m = cType.getDimSize(0), n = cType.getDimSize(1);
  if (!packsA(form) || rowChunkFor(m) >= m || n < 2 * tileColumns() ||
      !outgrowsL2(form.b))
    return nullptr;
  int64_t panels = llvm::divideCeil(n, tileColumns());
  int64_t depth = kBlockFor(form.depth());
  if (panels * depth * tileColumns() * int64_t(sizeof(float)) >
      kMaxSharedPanelsBytes)
    return nullptr;
  return MemRefType::get({panels, depth, tileColumns()},
                         Float32Type::get(cType.getContext()));
}

/// Register tile and k block for this target: MR x NR accumulators, NR / w
/// rows of B and one broadcast of A fill the vector register file (AVX2:
/// 16 registers, 6 x 16; AVX-512 and NEON: 32 registers, 14 x 32 and
/// 14 x 8), a KC x NR panel of B fills half of L1 and an MC x KC block of
/// packed A half of L2. The tiles stream A's micro-panels in order, which
/// the hardware prefetcher follows, so A need not stay in L1.
MatmulBlocking MatmulBlocking::forTarget(int64_t width, int64_t registers,
                                         int64_t l1Bytes, int64_t l2Bytes,
                                         bool parallel) {
  MatmulBlocking result;
  result.width = width;
  result.vectorsPerTile = 2;
  if (registers <= 0)
    registers = width == 8 ? 16 : 32;
  result.rowBlock = std::max<int64_t>(
      1, (registers - result.vectorsPerTile - 1) / result.vectorsPerTile);
  int64_t panelRowBytes = result.tileColumns() * int64_t(sizeof(float));
  result.kBlock = std::max<int64_t>(8, l1Bytes / 2 / panelRowBytes / 8 * 8);
  result.packSlots = parallel ? kParallelPackSlots : 1;
  int64_t blockRowBytes = result.kBlock * int64_t(sizeof(float));
  result.l2Bytes = l2Bytes;
  result.rowChunk =
      std::max<int64_t>(1, l2Bytes / 2 / blockRowBytes / result.rowBlock) *
      result.rowBlock;
  return result;
}

MatmulEmitter::MatmulEmitter(OpBuilder &b, Location loc, const MatmulForm &form,
                             const MatmulBlocking &blocking, Value pack,
                             Value packA, int64_t parallelMinWork,
                             bool contract, Value initialC)
    : b(b), loc(loc), form(form), blocking(blocking), pack(pack),
      sharedPanels(form.packedB &&
                   form.packedB.getType() == blocking.sharedPanelsType(form)),
      packA(blocking.packsA(form) ? packA : Value()), width(blocking.width),
      parallelMinWork(parallelMinWork),
      fastMath(contract ? arith::FastMathFlags::contract
                        : arith::FastMathFlags::none),
      initialC(initialC) {
  m = form.rows();
  n = form.c.getType().cast<MemRefType>().getDimSize(1);
  k = form.depth();
  vectorType = VectorType::get({width}, b.getF32Type());
  if (sharedPanels)
    this->pack = form.packedB;
}

void MatmulEmitter::emit() {
  if (k <= blocking.kBlock) {
    kBegin = index(0);
    kEnd = index(k);
    kDepth = k;
    emitRowChunks();
    return;
  }
  kDepth = blocking.kBlockFor(k);
  if (!packA && splitsColumns(m, k)) {
    emitKBlocksPerWorker();
    return;
  }
  forEachKBlock([&] { emitRowChunks(); });
}

/// `body` once per kDepth-deep k block, in k order, with kBegin and kEnd
/// set.
void MatmulEmitter::forEachKBlock(llvm::function_ref<void()> body) {
  forLoop(0, k, kDepth, [&](Value k0) {
    kBegin = k0;
    kEnd = b.create<arith::MinSIOp>(
        loc, b.create<arith::AddIOp>(loc, k0, index(kDepth)), index(k));
    body();
  });
}

/// The column split of emitColumns with the k blocks inside each worker:
/// worker s runs every k block of its panels s, s + slots, ... in k order,
/// so one fork serves the whole product instead of one per k block (A is
/// not packed, so nothing is shared between the panels of a k block).
void MatmulEmitter::emitKBlocksPerWorker() {
  int64_t tile = blocking.tileColumns();
  int64_t panels = n / tile;
  int64_t slots = std::min(blocking.packSlots, panels);
  parallelLoop(slots, [&](Value slot) {
    forEachKBlock([&] {
      forLoop(slot, index(panels), index(slots), [&](Value panel) {
        emitPanel(index(0), m, panelColumn(panel), slot,
                  blocking.vectorsPerTile, 0,
                  panelColumn(offset(panel, slots)));
      });
    });
  });
  if (leftoverColumns())
    forEachKBlock([&] { emitLeftoverColumns(index(0), m); });
}

/// Whether the column panels of `rows` rows of C go to the workers: at
/// least two panels and parallelMinWork multiply-adds per fork, `depth`
/// deep (a k block, or all of k where the workers run the k blocks).
bool MatmulEmitter::splitsColumns(int64_t rows, int64_t depth) const {
  int64_t panels = n / blocking.tileColumns();
  return std::min(blocking.packSlots, panels) >= 2 && parallelMinWork > 0 &&
         rows * panels * blocking.tileColumns() * depth >= parallelMinWork;
}

/// The rows of C for the current k block: all at once, or (see
/// MatmulBlocking::packsA) in MC-row chunks whose k block of A is first
/// packed into MR-row micro-panels, which stay in L2 across the panels.
void MatmulEmitter::emitRowChunks() {
  if (!packA) {
    emitColumns(index(0), m);
    return;
  }
  if (sharedPanels)
    emitSharedPanels();
  int64_t chunk = blocking.rowChunkFor(m);
  int64_t fullChunks = m / chunk;
  auto body = [&](Value i0, int64_t rows) {
    int64_t panels = n / blocking.tileColumns();
    emitPackA(i0, rows,
              splitsColumns(rows, kDepth) || splitsRows(rows, panels));
    emitColumns(i0, rows);
  };
  if (fullChunks == 1)
    body(index(0), chunk);
  else if (fullChunks > 1)
    forLoop(0, fullChunks * chunk, chunk, [&](Value i0) { body(i0, chunk); });
  if (m % chunk > 0)
    body(index(fullChunks * chunk), m % chunk);
}

/// Packs every panel of op(B)'s current k block into its slot of the shared
/// buffer, the workers splitting the panels (their chunks' tiles wait for
/// all of them anyway). Packed once per chunk of A instead, B took a fifth
/// of mlp_wide's 1024-row products, a tenth of them repeated copies.
void MatmulEmitter::emitSharedPanels() {
  int64_t panels = n / blocking.tileColumns();
  auto packPanel = [&](Value panel) {
    emitPack(panelColumn(panel), panel, blocking.vectorsPerTile, /*tail=*/0);
  };
  if (splitsColumns(m, kDepth))
    parallelLoop(panels, packPanel);
  else
    forLoop(0, panels, 1, packPanel);
  if (std::optional<ColumnPanel> rest = leftoverColumns())
    emitPack(index(rest->column), index(panels), rest->vectors, rest->tail);
}

/// The slot of the packed buffer that holds full panel `panel`: its own
/// with shared panels, else the worker's.
Value MatmulEmitter::panelSlot(Value panel, Value workerSlot) {
  return sharedPanels ? panel : workerSlot;
}

/// Every column panel of C for the current k block and rows. Threads split
/// the panels: worker s packs into its own slot of the buffer and takes
/// panels s, s + slots, ...; every element of C is still summed by one
/// thread in k order, so the result does not depend on the thread count.
void MatmulEmitter::emitColumns(Value i0, int64_t rows) {
  int64_t tile = blocking.tileColumns();
  int64_t panels = n / tile;
  if (splitsRows(rows, panels)) {
    emitRowBlocksInParallel(i0, rows, panels);
    return;
  }
  int64_t slots = std::min(blocking.packSlots, panels);
  auto panelBody = [&](Value panel, Value slot, int64_t step) {
    emitPanel(i0, rows, panelColumn(panel), panelSlot(panel, slot),
              blocking.vectorsPerTile,
              /*tail=*/0, panelColumn(offset(panel, step)));
  };
  if (splitsColumns(rows, kDepth)) {
    parallelLoop(slots, [&](Value slot) {
      forLoop(slot, index(panels), index(slots),
              [&](Value panel) { panelBody(panel, slot, slots); });
    });
  } else if (panels > 0) {
    forLoop(0, panels, 1, [&](Value panel) { panelBody(panel, index(0), 1); });
  }
  emitLeftoverColumns(i0, rows);
}

/// The columns of C past the last full NR-column panel, if any: whole
/// vectors and a masked tail.
std::optional<MatmulEmitter::ColumnPanel>
MatmulEmitter::leftoverColumns() const {
  int64_t tile = blocking.tileColumns();
  int64_t full = n / tile * tile;
  if (full == n)
    return std::nullopt;
  return ColumnPanel{full, (n - full) / width, (n - full) % width};
}

/// The leftover columns' panel of rows [i0, i0 + rows), packed in slot 0.
void MatmulEmitter::emitLeftoverColumns(Value i0, int64_t rows) {
  if (std::optional<ColumnPanel> rest = leftoverColumns())
    emitPanel(i0, rows, index(rest->column),
              panelSlot(index(n / blocking.tileColumns()), index(0)),
              rest->vectors, rest->tail);
}

/// Whether the row blocks, not the column panels, go to the workers: with
/// fewer than two full panels (a classifier's 10 outputs, a convolution's
/// few channels) the panels cannot feed two threads.
bool MatmulEmitter::splitsRows(int64_t rows, int64_t panels) const {
  return parallelMinWork > 0 && panels < 2 && rows / blocking.rowBlock >= 2 &&
         rows * n * kDepth >= parallelMinWork;
}

/// Packs every panel of the k block (at most two, see splitsRows) into its
/// own slot of the shared buffer, then runs the full MR-row blocks of rows
/// [i0, i0 + rows) in parallel, each against every panel: a worker computes
/// whole row blocks in k order, so the result is the serial kernel's.
/// Packing once before the fork, not per worker: the panels are KC x NR
/// while each worker streams rows / 2 x KC of A past them.
void MatmulEmitter::emitRowBlocksInParallel(Value i0, int64_t rows,
                                            int64_t panels) {
  SmallVector<ColumnPanel> columnPanels;
  int64_t tile = blocking.tileColumns();
  for (int64_t panel = 0; panel < panels; ++panel)
    columnPanels.push_back({panel * tile, blocking.vectorsPerTile, 0});
  if (std::optional<ColumnPanel> rest = leftoverColumns())
    columnPanels.push_back(*rest);
  for (auto [slot, panel] : llvm::enumerate(columnPanels))
    emitPack(index(panel.column), index(slot), panel.vectors, panel.tail);
  forEachRowBlock(i0, rows, /*parallel=*/true,
                  [&](Value i, Value block, int64_t tileRows) {
                    for (auto [slot, panel] : llvm::enumerate(columnPanels))
                      emitTile(i, block, tileRows, index(panel.column),
                               index(slot), panel.vectors, panel.tail);
                  });
}

/// `body(i, block, blockRows)` for the MR-row blocks of rows [i0, i0 + rows)
/// (i = i0 + block * MR), the full ones in a loop (an scf.parallel where
/// `parallel`), then the leftover rows as one shorter block: row by row,
/// each row would run a single FMA chain per k (latency-bound), which made
/// products with few rows (6 output channels) 5x slower.
void MatmulEmitter::forEachRowBlock(
    Value i0, int64_t rows, bool parallel,
    llvm::function_ref<void(Value i, Value block, int64_t)> body) {
  int64_t rowBlock = blocking.rowBlock;
  int64_t fullBlocks = rows / rowBlock;
  auto blockBody = [&](Value block, int64_t blockRows) {
    Value i = b.create<arith::AddIOp>(
        loc, i0, b.create<arith::MulIOp>(loc, block, index(rowBlock)));
    body(i, block, blockRows);
  };
  auto fullBlock = [&](Value block) { blockBody(block, rowBlock); };
  if (parallel)
    parallelLoop(fullBlocks, fullBlock);
  else if (fullBlocks > 0)
    forLoop(0, fullBlocks, 1, fullBlock);
  if (rows % rowBlock > 0)
    blockBody(index(fullBlocks), rows % rowBlock);
}

/// The first column of full panel `panel`.
Value MatmulEmitter::panelColumn(Value panel) {
  return b.create<arith::MulIOp>(loc, panel, index(blocking.tileColumns()));
}

/// Packs the panel at column j, then every row block of rows
/// [i0, i0 + rows) of C against it. `nextJ`, if given, is the column of the
/// panel this thread packs next (see emitPack).
void MatmulEmitter::emitPanel(Value i0, int64_t rows, Value j, Value slot,
                              int64_t vectors, int64_t tail, Value nextJ) {
  // One row block would read the packed panel once: a B stored row by row
  // is read in place (a 6-channel convolution's product: 1.3x faster).
  // Shared panels are packed already.
  if (!sharedPanels) {
    if (form.transposedB || rows > blocking.rowBlock)
      emitPack(j, slot, vectors, tail, nextJ);
    else
      slot = Value();
  }
  forEachRowBlock(i0, rows, /*parallel=*/false,
                  [&](Value i, Value block, int64_t tileRows) {
                    emitTile(i, block, tileRows, j, slot, vectors, tail);
                  });
}

/// A rows x (vectors * width + tail) block of C at (i, j), its k block of
/// op(B) in `slot` of the packed buffer (null: read from B itself) and,
/// where A is packed, its rows in micro-panel `block`.
void MatmulEmitter::emitTile(Value i, Value block, int64_t rows, Value j,
                             Value slot, int64_t vectors, int64_t tail) {
  SmallVector<std::pair<Value, Value>> columns; // (column, mask or null)
  for (int64_t v = 0; v < vectors; ++v)
    columns.push_back({offset(j, v * width), Value()});
  if (tail > 0)
    columns.push_back({offset(j, vectors * width), tailMask(tail)});

  SmallVector<Value> accumulators = loadTile(i, rows, columns);
  Value depth = b.create<arith::SubIOp>(loc, kEnd, kBegin);
  auto kLoop = [&](Value lb, Value ub) {
    accumulators = emitTileSteps(lb, ub, i, block, rows, slot, columns,
                                 accumulators);
  };
  bool prefetches = blocking.outgrowsL2(form.c);
  if (prefetches && n * int64_t(sizeof(float)) % kL1WayBytes == 0) {
    // The last kPrefetchLead steps run after the prefetch of the next
    // tile's C: issued at the start, the lines were gone by the end where
    // C's rows are a multiple of 4 KiB apart (mlp_wide's 4096 columns):
    // all the rows of a column panel share one L1 set, which the 12 lines
    // of two tiles overflow, and 4 sets of L2. Elsewhere the second loop's
    // exit, a mispredicted branch per tile, cost more than it saved (mlp's
    // dW, 512 and 784 columns: 3% slower).
    Value split = b.create<arith::MaxSIOp>(
        loc, b.create<arith::SubIOp>(loc, depth, index(kPrefetchLead)),
        index(0));
    kLoop(index(0), split);
    prefetchNextTile(i, j, vectors * width + tail);
    kLoop(split, depth);
  } else {
    if (prefetches)
      prefetchNextTile(i, j, vectors * width + tail);
    kLoop(index(0), depth);
  }
  for (int64_t r = 0; r < rows; ++r)
    for (auto [v, column] : llvm::enumerate(columns))
      store(accumulators[r * columns.size() + v], offset(i, r), column.first,
            column.second);
}

/// The accumulators of the tile of `rows` rows at row i as the current k
/// block starts: C's elements, or in the first k block of a product whose C
/// holds initialC, that value without reading C (a 12.8 MB fill before the
/// convnet's fc1 weight gradient, then a second pass over C to read it).
/// The same bits: each sum starts from the value C held and adds the same
/// products in the same order (0.0 + -0.0 is still +0.0).
SmallVector<Value>
MatmulEmitter::loadTile(Value i, int64_t rows,
                        ArrayRef<std::pair<Value, Value>> columns) {
  auto loadC = [&] {
    SmallVector<Value> tile;
    for (int64_t r = 0; r < rows; ++r)
      for (auto [col, mask] : columns)
        tile.push_back(load(form.c, offset(i, r), col, mask));
    return tile;
  };
  if (!initialC)
    return loadC();
  auto splat = [&] {
    Value value = b.create<vector::BroadcastOp>(loc, vectorType, initialC);
    return SmallVector<Value>(rows * columns.size(), value);
  };
  if (getConstantIntValue(kBegin) == 0)
    return splat();
  // Inside the loop over k blocks: only the first starts from initialC.
  Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, kBegin,
                                        index(0));
  SmallVector<Type> types(rows * columns.size(), vectorType);
  auto ifFirst = b.create<scf::IfOp>(loc, types, first, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifFirst.thenBlock());
  b.create<scf::YieldOp>(loc, splat());
  b.setInsertionPointToStart(ifFirst.elseBlock());
  b.create<scf::YieldOp>(loc, loadC());
  return ifFirst.getResults();
}

/// Steps [lb, ub) of the current k block of the tile at row i (see
/// emitTile): an scf.for carrying the tile's accumulators, one per row and
/// column vector (`columns`: column and mask or null), whose results it
/// returns. Each step adds one k of A's rows times B's row.
SmallVector<Value> MatmulEmitter::emitTileSteps(
    Value lb, Value ub, Value i, Value block, int64_t rows, Value slot,
    ArrayRef<std::pair<Value, Value>> columns, ValueRange accumulators) {
  auto kLoop = b.create<scf::ForOp>(loc, lb, ub, index(1), accumulators);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(kLoop.getBody());
  Value kk = kLoop.getInductionVar();
  Value kA = b.create<arith::AddIOp>(loc, kBegin, kk);
  SmallVector<Value> bRows;
  for (auto [v, column] : llvm::enumerate(columns))
    bRows.push_back(slot ? b.create<vector::LoadOp>(
                               loc, vectorType, pack,
                               ValueRange{slot, kk, index(int64_t(v) * width)})
                         : load(form.b, kA, column.first, column.second));
  SmallVector<Value> next;
  for (int64_t r = 0; r < rows; ++r) {
    Value row = offset(i, r);
    Value scalarA =
        packA ? b.create<memref::LoadOp>(loc, packA,
                                         ValueRange{block, kk, index(r)})
              : b.create<memref::LoadOp>(loc, form.a, ValueRange{row, kA});
    Value broadcastA = b.create<vector::BroadcastOp>(loc, vectorType, scalarA);
    // A multiply and an add that LLVM may contract into one fma where
    // the core has the instruction (unless contract=false): vector.fma
    // would be an fmaf call per lane on cores without it (generic
    // x86-64, riscv64 without F).
    for (size_t v = 0; v < columns.size(); ++v) {
      Value product =
          b.create<arith::MulFOp>(loc, broadcastA, bRows[v], fastMath);
      next.push_back(b.create<arith::AddFOp>(
          loc, product, kLoop.getRegionIterArgs()[r * columns.size() + v],
          fastMath));
    }
  }
  b.create<scf::YieldOp>(loc, next);
  return SmallVector<Value>(kLoop.getResults());
}

/// Prefetches the rows of the tile below (i, j), which the next row block
/// loads: a C larger than L2 comes from L3 or memory, and each of a tile's
/// MR accumulator chains waits for its row (the k blocks cannot start from
/// zero and add C at the end: that would change the order of the sum). The
/// rows past m are clamped to the last (the prefetch must stay inside C).
void MatmulEmitter::prefetchNextTile(Value i, Value j, int64_t columns) {
  SmallVector<int64_t> columnOffsets;
  for (int64_t c = 0; c < columns; c += kLineFloats)
    columnOffsets.push_back(c);
  if (columns % kLineFloats != 1)
    columnOffsets.push_back(columns - 1); // the line an unaligned row ends in
  Value lastRow = index(m - 1);
  for (int64_t r = 0; r < blocking.rowBlock; ++r) {
    Value row = b.create<arith::MinSIOp>(loc, offset(i, blocking.rowBlock + r),
                                         lastRow);
    for (int64_t c : columnOffsets)
      b.create<memref::PrefetchOp>(loc, form.c, ValueRange{row, offset(j, c)},
                                   /*isWrite=*/false, /*localityHint=*/3,
                                   /*isDataCache=*/true);
  }
}

Value MatmulEmitter::index(int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

void MatmulEmitter::forLoop(int64_t lb, int64_t ub, int64_t step,
                            llvm::function_ref<void(Value)> body) {
  forLoop(index(lb), index(ub), index(step), body);
}

void MatmulEmitter::forLoop(Value lb, Value ub, Value step,
                            llvm::function_ref<void(Value)> body) {
  auto loop = b.create<scf::ForOp>(loc, lb, ub, step);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

/// An scf.parallel over [0, count): OpenMP workers share its iterations.
void MatmulEmitter::parallelLoop(int64_t count,
                                 llvm::function_ref<void(Value)> body) {
  auto loop =
      b.create<scf::ParallelOp>(loc, ValueRange{index(0)},
                                ValueRange{index(count)}, ValueRange{index(1)});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVars()[0]);
}

Value MatmulEmitter::offset(Value base, int64_t delta) {
  if (delta == 0)
    return base;
  return b.create<arith::AddIOp>(loc, base, index(delta));
}

Value MatmulEmitter::tailMask(int64_t lanes) {
  auto maskType = VectorType::get({width}, b.getI1Type());
  return b.create<vector::CreateMaskOp>(loc, maskType,
                                        ValueRange{index(lanes)});
}

Value MatmulEmitter::load(Value memref, Value row, Value col, Value mask) {
  if (!mask)
    return b.create<vector::LoadOp>(loc, vectorType, memref,
                                    ValueRange{row, col});
  Value zero = b.create<arith::ConstantOp>(
      loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
  return b.create<vector::MaskedLoadOp>(loc, vectorType, memref,
                                        ValueRange{row, col}, mask, zero);
}

void MatmulEmitter::store(Value value, Value row, Value col, Value mask) {
  if (!mask)
    b.create<vector::StoreOp>(loc, value, form.c, ValueRange{row, col});
  else
    b.create<vector::MaskedStoreOp>(loc, form.c, ValueRange{row, col}, mask,
                                    value);
}

AffineMap packedBMap(int64_t rank, MLIRContext *ctx) {
  return AffineMap::get(
      3, 0, SmallVector<AffineExpr>(rank, getAffineConstantExpr(0, ctx)), ctx);
}

linalg::FillOp fillBefore(Operation *product, Value c) {
  for (Operation *op = product->getPrevNode(); op; op = op->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(op)) {
      // Not where the product also reads C as an input.
      if (fill.hasBufferSemantics() && fill.getDpsInitOperand(0)->get() == c &&
          fill.getDpsInputOperand(0)->get().getType().isF32() &&
          llvm::count(product->getOperands(), c) == 1)
        return fill;
      return nullptr; // Another buffer, which may share C's arena bytes.
    }
    if (!isMemoryEffectFree(op))
      return nullptr;
  }
  return nullptr;
}

std::optional<MatmulForm> matchMatmul(linalg::GenericOp op) {
  int64_t inputs = op.getNumDpsInputs();
  if (!op.hasBufferSemantics() || (inputs != 2 && inputs != 3) ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return std::nullopt;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::reduction ||
      iterators[2] != utils::IteratorType::parallel)
    return std::nullopt;
  MLIRContext *ctx = op.getContext();
  AffineExpr i, k, j;
  bindDims(ctx, i, k, j);
  auto map = [&](AffineExpr row, AffineExpr col) {
    return AffineMap::get(3, 0, {row, col}, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MatmulForm form;
  form.transposedA = maps[0] == map(k, i);
  form.transposedB = maps[1] == map(j, k);
  AffineMap cMap = maps.back();
  if ((maps[0] != map(i, k) && !form.transposedA) ||
      (maps[1] != map(k, j) && !form.transposedB) || cMap != map(i, j))
    return std::nullopt;
  if (inputs == 3) {
    form.packedB = op.getDpsInputOperand(2)->get();
    auto type = form.packedB.getType().dyn_cast<MemRefType>();
    if (!type || maps[2] != packedBMap(type.getRank(), ctx))
      return std::nullopt;
  }
  for (Value operand : op->getOperands()) {
    auto type = operand.getType().dyn_cast<MemRefType>();
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        !type.getLayout().isIdentity())
      return std::nullopt;
  }
  // The body must be exactly out + a * b.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 3)
    return std::nullopt;
  auto mul = add.getLhs().getDefiningOp<arith::MulFOp>();
  Value acc = add.getRhs();
  if (!mul) {
    mul = add.getRhs().getDefiningOp<arith::MulFOp>();
    acc = add.getLhs();
  }
  bool isProduct = mul && acc == body.getArgument(inputs) &&
                   ((mul.getLhs() == body.getArgument(0) &&
                     mul.getRhs() == body.getArgument(1)) ||
                    (mul.getLhs() == body.getArgument(1) &&
                     mul.getRhs() == body.getArgument(0)));
  if (!isProduct)
    return std::nullopt;
  form.a = op.getDpsInputOperand(0)->get();
  form.b = op.getDpsInputOperand(1)->get();
  form.c = op.getDpsInitOperand(0)->get();
  return form;
}

} // namespace kiln::matmul_codegen

namespace {

using kiln::matmul_codegen::matchMatmul;
using kiln::matmul_codegen::MatmulBlocking;
using kiln::matmul_codegen::MatmulEmitter;
using kiln::matmul_codegen::MatmulForm;

struct VectorizeMatmulPass
    : public kiln::impl::KilnVectorizeMatmulBase<VectorizeMatmulPass> {
  using KilnVectorizeMatmulBase::KilnVectorizeMatmulBase;

  /// Every chunk of MC rows packs all of B's panels again unless the
  /// product has its packedB (mlp_wide's dW: 4096 rows, from memory, a
  /// fifth of the product with quarter-L2 chunks).
  MatmulBlocking blocking() const {
    return MatmulBlocking::forTarget(vectorWidth, vectorRegisters, l1Bytes,
                                     l2Bytes, parallelMinWork > 0);
  }

  void runOnOperation() override {
    if (vectorWidth < 2)
      return;
    SmallVector<std::pair<linalg::GenericOp, MatmulForm>> matmuls;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<MatmulForm> form = matchMatmul(op))
        matmuls.push_back({op, *form});
    });
    if (matmuls.empty())
      return;
    // One buffer for the packed panels of every matmul of the function, on
    // the stack of its entry block: a static size, no heap, and (unlike an
    // alloca inside the loops) allocated once per call.
    MatmulBlocking sizes = blocking();
    OpBuilder entry = OpBuilder::atBlockBegin(&getOperation().front());
    auto packType =
        MemRefType::get({sizes.packSlots, sizes.kBlock, sizes.tileColumns()},
                        entry.getF32Type());
    Location loc = getOperation().getLoc();
    Value pack = entry.create<memref::AllocaOp>(loc, packType,
                                                entry.getI64IntegerAttr(64));
    // Packed A as large as the function's chunks need, at most MC x KC
    // (half of L2): a few hundred KiB of stack a model need not pay for.
    int64_t chunkRows = 0, chunkDepth = 0;
    for (auto &[op, form] : matmuls)
      if (sizes.packsA(form)) {
        chunkRows = std::max(chunkRows, sizes.rowChunkFor(form.rows()));
        chunkDepth = std::max(chunkDepth, sizes.kBlockFor(form.depth()));
      }
    Value packA;
    if (chunkRows > 0) {
      auto packAType =
          MemRefType::get({int64_t(llvm::divideCeil(chunkRows, sizes.rowBlock)),
                           chunkDepth, sizes.rowBlock},
                          entry.getF32Type());
      packA = entry.create<memref::AllocaOp>(loc, packAType,
                                             entry.getI64IntegerAttr(64));
    }
    for (auto [op, form] : matmuls) {
      OpBuilder b(op);
      // C's fill goes: the first k block writes C without reading it (a
      // product over an empty k has no k block: its fill stays).
      linalg::FillOp fill = form.depth() > 0
                                ? kiln::matmul_codegen::fillBefore(op, form.c)
                                : linalg::FillOp();
      // Also inside a loop (a convolution's chunks of images): a fork and
      // join of spinning OpenMP threads costs ~3 us, parallelMinWork
      // multiply-adds take longer.
      MatmulEmitter(b, op.getLoc(), form, sizes, pack, packA, parallelMinWork,
                    contract,
                    fill ? fill.getDpsInputOperand(0)->get() : Value())
          .emit();
      op.erase();
      if (fill)
        fill.erase();
    }
  }
};
} // namespace
