//===- VectorizeMatmul.h - emitter of kiln-vectorize-matmul -----*- C++ -*-===//
//
// One emitter writes the blocked loop nest of a matrix product: the loops,
// register tiles and parallel splits (VectorizeMatmul.cpp) and the copies
// that pack panels of B and blocks of A into contiguous buffers
// (VectorizeMatmulPacking.cpp). They share the builder helpers and the
// current k block.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TRANSFORMS_VECTORIZEMATMUL_H
#define KILN_TRANSFORMS_VECTORIZEMATMUL_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace kiln::matmul_codegen {

/// Floats in a 64-byte cache line, the unit of a prefetch.
constexpr int64_t kLineFloats = 16;

/// A matrix product `C[i,j] += op(A)[i,k] * op(B)[k,j]` on static f32
/// memrefs with loops (i, k, j), op a transpose where the operand's map
/// swaps its dimensions: convert-kiln-to-linalg folds a 2-D kiln.transpose
/// of an operand into the map, so that no transposed copy is made.
///
/// A third input, read by no iteration (map to zeros), is `packedB`: the
/// arena's room for a k block of every panel of op(B) (see
/// MatmulBlocking::sharedPanelsType), added by kiln-reserve-matmul-packing.
struct MatmulForm {
  mlir::Value a, b, c;
  mlir::Value packedB;
  bool transposedA = false, transposedB = false;

  int64_t rows() const;  ///< m
  int64_t depth() const; ///< k
};

/// The sizes of the blocked loop nest, from the target's vector unit.
struct MatmulBlocking {
  int64_t width;          ///< f32 lanes per vector register
  int64_t vectorsPerTile; ///< NR = vectorsPerTile * width columns of C
  int64_t rowBlock;       ///< MR rows of C
  int64_t kBlock;         ///< KC: depth of a packed panel of B
  int64_t packSlots;      ///< panels packed at once (one per parallel worker)
  int64_t rowChunk;       ///< MC: rows of a packed block of A (multiple of MR)
  int64_t l2Bytes;        ///< the L2 cache of a core

  /// The depth of the k blocks of a k-deep product, and the rows of the
  /// chunks of packed A of an m-row one (see balancedBlock).
  int64_t kBlockFor(int64_t k) const;
  int64_t rowChunkFor(int64_t m) const;

  /// Whether `memref` is larger than L2: the tiles prefetch such a C one
  /// tile ahead, the packing such a B one panel ahead.
  bool outgrowsL2(mlir::Value memref) const;

  int64_t tileColumns() const { return vectorsPerTile * width; }

  /// The blocking for a target's vector unit and caches (0 registers: 16
  /// for width 8, AVX2; else 32); one slot of packed B per worker where
  /// `parallel`.
  static MatmulBlocking forTarget(int64_t width, int64_t registers,
                                  int64_t l1Bytes, int64_t l2Bytes,
                                  bool parallel);

  /// Whether `form` runs in MC-row chunks of packed A: a transposed A reads
  /// its rows m floats apart (with m a multiple of 512 those rows share a
  /// few L1 sets and every read missed, 5x slower than packed); an A of
  /// several chunks would stream from L3 once per panel of B. With at most
  /// two panels (a classifier's 10 outputs) A streams at most twice, and
  /// unpacked its row blocks can run in parallel (see splitsRows).
  bool packsA(const MatmulForm &form) const;

  /// memref<panels x KC x NR x f32>, the k block of every panel of op(B)
  /// (the leftover columns' panel last), where `form` packs B once per k
  /// block instead of once per MC-row chunk of A: where A is packed in at
  /// least two chunks and B is larger than L2 (each chunk's copy read it
  /// from memory, KC rows in as many pages; one in L2 is copied again
  /// cheaply, and the arena need not grow for it: the MLP's dW1, 128 x 784).
  /// Null elsewhere, or where the block would be larger than
  /// kMaxSharedPanelsBytes.
  mlir::MemRefType sharedPanelsType(const MatmulForm &form) const;
};

/// The largest packed block of B shared by the chunks of A: BLIS's KC x NC
/// block of B, 256 x 4096 floats on AVX2 (4 MiB, an L3 share).
constexpr int64_t kMaxSharedPanelsBytes = 8 << 20;

/// The indexing map of the packedB input: (i, k, j) -> (0, ..., 0), read by
/// no iteration (the vectorized product writes it before it reads it).
mlir::AffineMap packedBMap(int64_t rank, mlir::MLIRContext *ctx);

/// The form of a linalg.generic that is a matrix product (see MatmulForm),
/// with or without its packedB input.
std::optional<MatmulForm> matchMatmul(mlir::linalg::GenericOp op);

/// The linalg.fill of `c`, a product's output, that `product` follows with
/// only ops without memory effects between them (an arena view, a
/// constant), if any: C holds the fill's value when the product starts, so
/// the product's first k block can start its sums from that value in
/// registers instead of loading C (BLIS's beta = 0), and the fill, a pass
/// over C, can go.
mlir::linalg::FillOp fillBefore(mlir::Operation *product, mlir::Value c);

/// The columns of the square matrix whose rows are `rows` (as many as their
/// lanes: 4, 8 or 16), by vector.shuffle (VectorizeMatmulPacking.cpp).
llvm::SmallVector<mlir::Value>
transposeInRegisters(mlir::OpBuilder &b, mlir::Location loc,
                     llvm::ArrayRef<mlir::Value> rows);

/// Emits the loop nest for one matmul, BLIS's structure: for each k block
/// (k split evenly), for each MC-row chunk of A (packed into MR-row
/// micro-panels where packsA, held in L2), each column panel of B (KC x NR)
/// is packed into a contiguous buffer that stays in L1, then every MR-row
/// block of the chunk streams past it with an MR x NR block of C in
/// registers for the whole k block. With the form's packedB (BLIS's L3
/// buffer, in the arena) every panel of the k block is packed once, by all
/// workers, before the chunks, which all read it; without, B's panels are
/// packed once per chunk. A C or B larger than L2 is prefetched a tile or a
/// panel ahead.
class MatmulEmitter {
public:
  /// `initialC`, where not null, is the f32 scalar that every element of
  /// C holds before the product (a fill's, see fillBefore): the first k
  /// block's tiles start from it instead of loading C.
  MatmulEmitter(mlir::OpBuilder &b, mlir::Location loc, const MatmulForm &form,
                const MatmulBlocking &blocking, mlir::Value pack,
                mlir::Value packA, int64_t parallelMinWork, bool contract,
                mlir::Value initialC = mlir::Value());

  /// Loop order k block, column panel, row block (GotoBLAS's): the packed
  /// KC x NR panel of B stays in L1 while every row block of A streams past.
  void emit();

private:
  /// Columns [column, column + vectors * width + tail) of C.
  struct ColumnPanel {
    int64_t column, vectors, tail;
  };

  // Loops and parallel splits (VectorizeMatmul.cpp).
  void forEachKBlock(llvm::function_ref<void()> body);
  void emitKBlocksPerWorker();
  bool splitsColumns(int64_t rows, int64_t depth) const;
  void emitRowChunks();
  void emitSharedPanels();
  mlir::Value panelSlot(mlir::Value panel, mlir::Value workerSlot);
  void emitColumns(mlir::Value i0, int64_t rows);
  std::optional<ColumnPanel> leftoverColumns() const;
  void emitLeftoverColumns(mlir::Value i0, int64_t rows);
  bool splitsRows(int64_t rows, int64_t panels) const;
  void emitRowBlocksInParallel(mlir::Value i0, int64_t rows, int64_t panels);
  void forEachRowBlock(
      mlir::Value i0, int64_t rows, bool parallel,
      llvm::function_ref<void(mlir::Value i, mlir::Value block, int64_t)> body);
  mlir::Value panelColumn(mlir::Value panel);
  void emitPanel(mlir::Value i0, int64_t rows, mlir::Value j, mlir::Value slot,
                 int64_t vectors, int64_t tail,
                 mlir::Value nextJ = mlir::Value());
  void emitTile(mlir::Value i, mlir::Value block, int64_t rows, mlir::Value j,
                mlir::Value slot, int64_t vectors, int64_t tail);
  llvm::SmallVector<mlir::Value>
  loadTile(mlir::Value i, int64_t rows,
           llvm::ArrayRef<std::pair<mlir::Value, mlir::Value>> columns);
  llvm::SmallVector<mlir::Value>
  emitTileSteps(mlir::Value lb, mlir::Value ub, mlir::Value i,
                mlir::Value block, int64_t rows, mlir::Value slot,
                llvm::ArrayRef<std::pair<mlir::Value, mlir::Value>> columns,
                mlir::ValueRange accumulators);
  void prefetchNextTile(mlir::Value i, mlir::Value j, int64_t columns);

  // Packing (VectorizeMatmulPacking.cpp).
  void emitPackA(mlir::Value i0, int64_t rows, bool parallel);
  void emitPack(mlir::Value j, mlir::Value slot, int64_t vectors, int64_t tail,
                mlir::Value nextJ = mlir::Value());
  void prefetchRow(mlir::Value row, mlir::Value j, int64_t columns);
  void emitTransposedPack(mlir::Value j, mlir::Value slot, int64_t columns,
                          mlir::Value depth);
  mlir::Value loadB(mlir::Value column, mlir::Value kk);

  // Builder helpers.
  mlir::Value index(int64_t v);
  mlir::Value offset(mlir::Value base, int64_t delta);
  void forLoop(int64_t lb, int64_t ub, int64_t step,
               llvm::function_ref<void(mlir::Value)> body);
  void forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
               llvm::function_ref<void(mlir::Value)> body);
  void parallelLoop(int64_t count, llvm::function_ref<void(mlir::Value)> body);
  mlir::Value tailMask(int64_t lanes);
  mlir::Value load(mlir::Value memref, mlir::Value row, mlir::Value col,
                   mlir::Value mask);
  void store(mlir::Value value, mlir::Value row, mlir::Value col,
             mlir::Value mask);

  mlir::OpBuilder &b;
  mlir::Location loc;
  MatmulForm form;
  MatmulBlocking blocking;
  mlir::Value pack;  ///< memref<slots x KC x NR xf32>, or form.packedB
  bool sharedPanels; ///< pack is form.packedB: one slot per panel
  mlir::Value packA; ///< memref<MC / MR x KC x MR xf32> where A is packed
  int64_t width, parallelMinWork, m = 0, n = 0, k = 0;
  mlir::arith::FastMathFlags fastMath;
  mlir::Value initialC;     ///< C's value before the product, or null
  mlir::Value kBegin, kEnd; ///< the current k block
  int64_t kDepth = 0;       ///< its static depth (the last one may be shorter)
  mlir::VectorType vectorType;
};

} // namespace kiln::matmul_codegen

#endif // KILN_TRANSFORMS_VECTORIZEMATMUL_H
