//===- VectorizeChannelSums.cpp - per-channel sums, channels in lanes -----===//
//
// A convolution's bias gradient sums dY (times the ReLU's mask, fused in)
// over the batch and the pixels of each channel: out[c] += f(x[n, c, ...]).
// The affine lowering keeps out[c] in memory, a scalar load, add and store
// per element in one dependent chain per channel; the affine vectorizer
// leaves it so (the convnet's two such sums: 2% of a step). Here the sums of
// `width` channels live in the lanes of one vector: width rows of pixels
// (one per channel) are loaded and f computed on them as vectors, the block
// is transposed in registers, and its columns are added one pixel at a
// time. Every channel still adds its terms in the scalar loops' order (n,
// then the pixels), so the bits do not change; the groups of channels are
// independent and may run on threads.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "VectorRows.h"
#include "VectorizeMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZECHANNELSUMS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A sum over every loop but the second of terms computed from inputs read
/// at (n, c, ...): `out[c] = out[c] + term` (or `term + out[c]`).
struct ChannelSum {
  linalg::GenericOp op;
  arith::AddFOp add;
  Value term;
  int64_t batch, channels, pixels;
};

bool isPlainF32(Value value) {
  auto type = value.getType().dyn_cast<MemRefType>();
  return type && type.hasStaticShape() && type.getLayout().isIdentity() &&
         type.getElementType().isF32();
}

/// The sum `op` is, where its channels fill whole vectors of `width` (a
/// power of two, for the transposes) and its body is arith ops only.
std::optional<ChannelSum> matchChannelSum(linalg::GenericOp op,
                                          int64_t width) {
  unsigned loops = op.getNumLoops();
  if (!op.hasBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() == 0 || loops < 3)
    return std::nullopt;
  auto iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < loops; ++d)
    if ((iterators[d] == utils::IteratorType::parallel) != (d == 1))
      return std::nullopt;
  MLIRContext *ctx = op.getContext();
  OpOperand *out = op.getDpsInitOperand(0);
  if (!isPlainF32(out->get()) ||
      op.getMatchingIndexingMap(out) !=
          AffineMap::get(loops, 0, getAffineDimExpr(1, ctx)))
    return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!isPlainF32(input->get()) ||
        !op.getMatchingIndexingMap(input).isIdentity())
      return std::nullopt;
  Block &body = op.getRegion().front();
  BlockArgument acc = body.getArguments().back();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !add->hasOneUse() || !acc.hasOneUse() ||
      (add.getLhs() != acc && add.getRhs() != acc))
    return std::nullopt;
  for (Operation &inner : body.without_terminator())
    if (inner.getDialect()->getNamespace() != "arith" ||
        inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner) ||
        inner.getNumResults() != 1)
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t pixels = 1;
  for (int64_t range : ArrayRef<int64_t>(ranges).drop_front(2))
    pixels *= range;
  if (width < 4 || !llvm::isPowerOf2_64(width) || ranges[1] % width != 0)
    return std::nullopt;
  return ChannelSum{op, add, add.getLhs() == acc ? add.getRhs() : add.getLhs(),
                    ranges[0], ranges[1], pixels};
}

class ChannelSumEmitter {
public:
  ChannelSumEmitter(ChannelSum sum, int64_t width,
                    int64_t parallelMinWork)
      : sum(sum), b(sum.op), loc(sum.op.getLoc()), width(width),
        parallelMinWork(parallelMinWork) {}

  /// For each group of `width` channels (an scf.parallel where that pays):
  /// their sums in one vector, loaded from out, carried through the loops
  /// over n and the pixels' vector blocks, stored back.
  void emit() {
    for (OpOperand *input : sum.op.getDpsInputOperands())
      inputs.push_back(asBatchChannelPixels(input->get()));
    Value out = sum.op.getDpsInitOperand(0)->get();
    int64_t groups = sum.channels / width;
    bool parallel = kiln::vector_rows::worthAFork(
        sum.op, groups, sum.batch * sum.channels * sum.pixels,
        parallelMinWork);
    OpBuilder::InsertionGuard guard(b);
    Value group =
        kiln::vector_rows::buildOuterLoops(b, loc, {groups}, parallel)[0];
    Value c0 = b.create<arith::MulIOp>(loc, group, index(width));
    VectorType vectorType = VectorType::get({width}, b.getF32Type());
    Value init = b.create<vector::LoadOp>(loc, vectorType, out, c0);
    auto batchLoop =
        b.create<scf::ForOp>(loc, index(0), index(sum.batch), index(1), init);
    b.setInsertionPointToStart(batchLoop.getBody());
    Value n = batchLoop.getInductionVar();
    Value sums = batchLoop.getRegionIterArgs()[0];
    int64_t full = sum.pixels / width * width;
    if (full > 0) {
      auto pixelLoop = b.create<scf::ForOp>(loc, index(0), index(full),
                                            index(width), sums);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(pixelLoop.getBody());
      b.create<scf::YieldOp>(
          loc, addBlock(n, c0, pixelLoop.getInductionVar(), width,
                        pixelLoop.getRegionIterArgs()[0]));
      b.setInsertionPointAfter(pixelLoop);
      sums = pixelLoop.getResult(0);
    }
    if (full < sum.pixels)
      sums = addBlock(n, c0, index(full), sum.pixels - full, sums);
    b.create<scf::YieldOp>(loc, sums);
    b.setInsertionPointAfter(batchLoop);
    b.create<vector::StoreOp>(loc, batchLoop.getResult(0), out, c0);
  }

private:
  /// `value` as [N, C, pixels].
  Value asBatchChannelPixels(Value value) {
    auto rank = int64_t(value.getType().cast<MemRefType>().getRank());
    if (rank == 3)
      return value;
    ReassociationIndices pixelDims;
    for (int64_t d = 2; d < rank; ++d)
      pixelDims.push_back(d);
    SmallVector<ReassociationIndices> groups = {{0}, {1}, pixelDims};
    return b.create<memref::CollapseShapeOp>(loc, value, groups);
  }

  /// `sums` plus the terms of pixels [p0, p0 + lanes) of image n for
  /// channels [c0, c0 + width), pixel by pixel: a width x width block of
  /// terms (lanes of each row read, masked where fewer than width),
  /// transposed so that each column holds one pixel of every channel.
  Value addBlock(Value n, Value c0, Value p0, int64_t lanes, Value sums) {
    VectorType vectorType = VectorType::get({width}, b.getF32Type());
    Value mask, zero;
    if (lanes < width) {
      mask = b.create<vector::CreateMaskOp>(
          loc, VectorType::get({width}, b.getI1Type()),
          ValueRange{index(lanes)});
      zero = b.create<arith::ConstantOp>(
          loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
    }
    Block &body = sum.op.getRegion().front();
    SmallVector<Value> terms;
    for (int64_t r = 0; r < width; ++r) {
      IRMapping map;
      Value c = b.create<arith::AddIOp>(loc, c0, index(r));
      for (auto [arg, input] : llvm::zip(body.getArguments(), inputs)) {
        SmallVector<Value> at = {n, c, p0};
        map.map(arg, mask ? b.create<vector::MaskedLoadOp>(
                                loc, vectorType, input, at, mask, zero)
                                .getResult()
                          : b.create<vector::LoadOp>(loc, vectorType, input, at)
                                .getResult());
      }
      for (Operation &inner : body.without_terminator())
        if (&inner != sum.add.getOperation())
          kiln::vector_rows::applyLaneWise(b, loc, inner, map, width);
      terms.push_back(kiln::vector_rows::broadcastTo(
          b, loc, map.lookupOrDefault(sum.term), width));
    }
    SmallVector<Value> columns =
        kiln::matmul_codegen::transposeInRegisters(b, loc, terms);
    bool accFirst = sum.add.getRhs() == sum.term;
    for (int64_t p = 0; p < lanes; ++p)
      sums = b.create<arith::AddFOp>(loc, accFirst ? sums : columns[p],
                                     accFirst ? columns[p] : sums,
                                     sum.add.getFastmathAttr());
    return sums;
  }

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }

  ChannelSum sum;
  OpBuilder b;
  Location loc;
  int64_t width, parallelMinWork;
  SmallVector<Value> inputs; ///< [N, C, pixels] views of the inputs
};

struct VectorizeChannelSumsPass
    : public kiln::impl::KilnVectorizeChannelSumsBase<
          VectorizeChannelSumsPass> {
  using KilnVectorizeChannelSumsBase::KilnVectorizeChannelSumsBase;

  void runOnOperation() override {
    SmallVector<ChannelSum> sums;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<ChannelSum> sum = matchChannelSum(op, vectorWidth))
        sums.push_back(*sum);
    });
    for (ChannelSum &sum : sums) {
      ChannelSumEmitter(sum, vectorWidth, parallelMinWork).emit();
      sum.op.erase();
    }
  }
};

} // namespace
