//===- VectorizeMatmulPacking.cpp - packed panels of matmul operands ------===//
//
// The copies of kiln-vectorize-matmul's loop nest: a k block of a column
// panel of op(B) into a KC x NR buffer the register tiles read with aligned
// vector loads, and an MC-row block of op(A) into MR-row micro-panels whose
// rows a tile broadcasts from consecutive floats.
//
//===----------------------------------------------------------------------===//

#include "VectorizeMatmul.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <array>

using namespace mlir;

namespace kiln::matmul_codegen {

/// Packs rows [i0, i0 + rows) of op(A) for the current k block:
/// micro-panel p holds rows i0 + p * MR + r at [p, kk, r]. With `parallel`,
/// the workers share the micro-panels: packing takes about 4% of mlp_wide's
/// dW on one thread, which the other threads would spend waiting.
void MatmulEmitter::emitPackA(Value i0, int64_t rows, bool parallel) {
  Value depth = b.create<arith::SubIOp>(loc, kEnd, kBegin);
  forEachRowBlock(
      i0, rows, parallel, [&](Value first, Value panel, int64_t panelRows) {
        forLoop(index(0), depth, index(1), [&](Value kk) {
          Value kA = b.create<arith::AddIOp>(loc, kBegin, kk);
          for (int64_t r = 0; r < panelRows; ++r) {
            Value row = offset(first, r);
            Value value = b.create<memref::LoadOp>(
                loc, form.a,
                form.transposedA ? ValueRange{kA, row} : ValueRange{row, kA});
            b.create<memref::StoreOp>(loc, value, packA,
                                      ValueRange{panel, kk, index(r)});
          }
        });
      });
}

/// Packs the columns [j, j + vectors * width + tail) of the current k block
/// of op(B) into `slot` of the buffer, row kk at [slot, kk, 0..NR). Lanes
/// past the tail are never stored to C; a transposed B zero-fills them.
///
/// A B stored row by row and larger than L2 is read KC rows n floats apart,
/// each in its own page, and (with C swept through L3 every k block) from
/// memory: the copy took a fifth of a 4096 x 1024 x 4096 product. With
/// `nextJ`, each row also prefetches the same row of the panel at column
/// nextJ into L2, which the thread packs next, after this panel's tiles.
void MatmulEmitter::emitPack(Value j, Value slot, int64_t vectors, int64_t tail,
                             Value nextJ) {
  Value depth = b.create<arith::SubIOp>(loc, kEnd, kBegin);
  int64_t columns = vectors * width + tail;
  if (!form.transposedB) {
    // Row kk of B is contiguous: vector loads (masked at the tail).
    forLoop(index(0), depth, index(1), [&](Value kk) {
      Value row = b.create<arith::AddIOp>(loc, kBegin, kk);
      for (int64_t v = 0; v < vectors + (tail > 0); ++v) {
        Value mask = v == vectors ? tailMask(tail) : Value();
        Value value = load(form.b, row, offset(j, v * width), mask);
        b.create<vector::StoreOp>(loc, value, pack,
                                  ValueRange{slot, kk, index(v * width)});
      }
      if (nextJ && blocking.outgrowsL2(form.b))
        prefetchRow(row, nextJ, columns);
    });
    return;
  }
  emitTransposedPack(j, slot, columns, depth);
  if (columns == blocking.tileColumns())
    return;
  // Zeros past the last column: those lanes are never stored, but
  // whatever an earlier panel left there must not be a slow denormal.
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  forLoop(columns, blocking.tileColumns(), 1, [&](Value jj) {
    forLoop(index(0), depth, index(1), [&](Value kk) {
      b.create<memref::StoreOp>(loc, zero, pack, ValueRange{slot, kk, jj});
    });
  });
}

/// The transposed-B case of emitPack: column j of op(B) is row j of the
/// stored matrix, contiguous in k. Blocks of width x width load `width`
/// k-contiguous floats of `width` stored rows and transpose them in
/// registers (an element-by-element copy was most of a 4096-deep forward
/// x W^T, one strided load and store per float); the ragged edges (the
/// last k block's tail, a panel's last columns) go element by element.
void MatmulEmitter::emitTransposedPack(Value j, Value slot, int64_t columns,
                                       Value depth) {
  auto copyElements = [&](int64_t firstColumn, int64_t endColumn,
                          Value firstK) {
    forLoop(index(firstColumn), index(endColumn), index(1), [&](Value jj) {
      Value stored = b.create<arith::AddIOp>(loc, j, jj);
      forLoop(firstK, depth, index(1), [&](Value kk) {
        b.create<memref::StoreOp>(loc, loadB(stored, kk), pack,
                                  ValueRange{slot, kk, jj});
      });
    });
  };
  int64_t blockColumns = columns / width * width;
  if (!llvm::isPowerOf2_64(width) || width < 4 || blockColumns == 0) {
    copyElements(0, columns, index(0));
    return;
  }
  Value blockDepth = b.create<arith::MulIOp>(
      loc, b.create<arith::DivUIOp>(loc, depth, index(width)), index(width));
  forLoop(0, blockColumns, width, [&](Value j0) {
    forLoop(index(0), blockDepth, index(width), [&](Value kk0) {
      Value k = b.create<arith::AddIOp>(loc, kBegin, kk0);
      SmallVector<Value> rows;
      for (int64_t r = 0; r < width; ++r) {
        Value stored = b.create<arith::AddIOp>(loc, j, offset(j0, r));
        rows.push_back(b.create<vector::LoadOp>(loc, vectorType, form.b,
                                                ValueRange{stored, k}));
      }
      for (auto [c, column] :
           llvm::enumerate(transposeInRegisters(b, loc, rows)))
        b.create<vector::StoreOp>(loc, column, pack,
                                  ValueRange{slot, offset(kk0, c), j0});
    });
  });
  // The k tail of the blocked columns, then every k of the rest.
  copyElements(0, blockColumns, blockDepth);
  if (blockColumns < columns)
    copyElements(blockColumns, columns, index(0));
}

/// The columns of the square matrix whose rows are `rows` (as many as their
/// lanes, a power of two >= 4), through the shuffles of the classic AVX 8 x 8
/// transpose, one instruction each: in every 4-lane group, interleave row
/// pairs (unpcklps/unpckhps), then pairs of pairs (shufps), which
/// transposes the 4 x 4 blocks; then interleave the 4-lane blocks of the
/// width / 4 vectors that hold each column (vperm2f128). A plain perfect
/// shuffle crosses 128-bit lanes in every round: twice the instructions.
SmallVector<Value> transposeInRegisters(OpBuilder &b, Location loc,
                                        ArrayRef<Value> rows) {
  auto width = int64_t(rows.size());
  auto shuffle = [&](Value x, Value y, ArrayRef<int64_t> mask) -> Value {
    return b.create<vector::ShuffleOp>(loc, x, y, mask);
  };
  // `pattern` picks lanes 0-3 of x's and (4-7) of y's group, per group.
  auto groupMask = [&](std::array<int64_t, 4> pattern) {
    SmallVector<int64_t> mask;
    for (int64_t group = 0; group < width; group += 4)
      for (int64_t lane : pattern)
        mask.push_back(lane < 4 ? group + lane : width + group + lane - 4);
    return mask;
  };
  SmallVector<int64_t> low = groupMask({0, 4, 1, 5});
  SmallVector<int64_t> high = groupMask({2, 6, 3, 7});
  SmallVector<int64_t> lowPairs = groupMask({0, 1, 4, 5});
  SmallVector<int64_t> highPairs = groupMask({2, 3, 6, 7});
  SmallVector<Value> pairs, quads;
  for (int64_t r = 0; r < width; r += 2) {
    pairs.push_back(shuffle(rows[r], rows[r + 1], low));
    pairs.push_back(shuffle(rows[r], rows[r + 1], high));
  }
  for (int64_t r = 0; r < width; r += 4)
    for (int64_t pair : {r, r + 1}) {
      quads.push_back(shuffle(pairs[pair], pairs[pair + 2], lowPairs));
      quads.push_back(shuffle(pairs[pair], pairs[pair + 2], highPairs));
    }
  // quads[4 * i + c], lane group g: rows 4i..4i+3 of column 4g + c.
  int64_t blocks = width / 4, half = blocks / 2;
  SmallVector<int64_t> lowBlocks, highBlocks;
  for (int64_t block = 0; block < half; ++block)
    for (int64_t side : {int64_t(0), width})
      for (int64_t lane = 0; lane < 4; ++lane) {
        lowBlocks.push_back(side + block * 4 + lane);
        highBlocks.push_back(side + (half + block) * 4 + lane);
      }
  SmallVector<Value> columns(width);
  for (int64_t c = 0; c < 4; ++c) {
    SmallVector<Value> parts;
    for (int64_t i = 0; i < blocks; ++i)
      parts.push_back(quads[4 * i + c]);
    for (int64_t round = 1; round < blocks; round *= 2) {
      SmallVector<Value> next;
      for (int64_t v = 0; v < half; ++v) {
        next.push_back(shuffle(parts[v], parts[v + half], lowBlocks));
        next.push_back(shuffle(parts[v], parts[v + half], highBlocks));
      }
      parts = std::move(next);
    }
    for (int64_t group = 0; group < blocks; ++group)
      columns[4 * group + c] = parts[group];
  }
  return columns;
}

/// Prefetches columns [j, j + columns) of row `row` of a B stored row by row
/// into L2, a line at a time; columns past n are clamped to the last (the
/// prefetch must stay inside B).
void MatmulEmitter::prefetchRow(Value row, Value j, int64_t columns) {
  Value lastColumn = index(n - 1);
  for (int64_t c = 0; c < columns; c += kLineFloats) {
    Value column = b.create<arith::MinSIOp>(loc, offset(j, c), lastColumn);
    b.create<memref::PrefetchOp>(loc, form.b, ValueRange{row, column},
                                 /*isWrite=*/false, /*localityHint=*/2,
                                 /*isDataCache=*/true);
  }
}

/// op(B)[kBegin + kk, column] of a transposed B.
Value MatmulEmitter::loadB(Value column, Value kk) {
  Value depth = b.create<arith::AddIOp>(loc, kBegin, kk);
  return b.create<memref::LoadOp>(loc, form.b, ValueRange{column, depth});
}

} // namespace kiln::matmul_codegen
