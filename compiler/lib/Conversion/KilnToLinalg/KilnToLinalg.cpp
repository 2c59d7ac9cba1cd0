//===- KilnToLinalg.cpp - Lower kiln ops to linalg on tensors -------------===//
//
// The convert-kiln-to-linalg pass: every kiln op becomes destination-style
// linalg (linalg.generic / linalg.fill into tensor.empty), tensor reshapes or
// arith constants, on static-shape tensors, ready for elementwise fusion and
// one-shot bufferization. This file holds the pass, the shared builders
// (KilnToLinalgCommon.h), constants and the core elementwise ops (KilnOps.td);
// the other patterns live beside their op groups: KilnToLinalgStructured.cpp
// (matmul, transpose, reshape, reductions, log_softmax, one_hot,
// random_uniform), KilnToLinalgElementwise.cpp (KilnElementwiseOps.td),
// KilnToLinalgLayout.cpp (KilnLayoutOps.td) and KilnToLinalgNN.cpp
// (KilnNNOps.td).
//
//===----------------------------------------------------------------------===//

#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/StringSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "kiln/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using kiln::lowering::isFloat;
using kiln::lowering::scalarConstant;

//===----------------------------------------------------------------------===//
// Shared builders
//===----------------------------------------------------------------------===//

Value lowering::createEmpty(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
}

Value lowering::scalarConstant(OpBuilder &b, Location loc, Type type,
                               double value) {
  if (type.isa<FloatType>())
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(type, value));
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value lowering::createFilled(OpBuilder &b, Location loc, RankedTensorType type,
                             TypedAttr value) {
  Value scalar = b.create<arith::ConstantOp>(loc, value);
  return b
      .create<linalg::FillOp>(loc, ValueRange{scalar},
                              ValueRange{createEmpty(b, loc, type)})
      .getResult(0);
}

AffineMap lowering::broadcastMap(ArrayRef<int64_t> operandShape,
                                 ArrayRef<int64_t> resultShape,
                                 MLIRContext *ctx) {
  // Shapes align from the right, so operand dim i is loop dim i + offset.
  int64_t offset = resultShape.size() - operandShape.size();
  SmallVector<AffineExpr> exprs;
  for (auto [i, size] : llvm::enumerate(operandShape)) {
    int64_t loop = i + offset;
    // A stretched size-1 dim always reads element 0. A size-1 dim that is not
    // stretched keeps its loop dim, so that identical shapes give identity
    // maps, which elementwise fusion relies on.
    if (size == 1 && resultShape[loop] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(loop, ctx));
  }
  return AffineMap::get(resultShape.size(), 0, exprs, ctx);
}

Value lowering::buildGeneric(OpBuilder &b, Location loc, Value init,
                             ValueRange inputs, ArrayRef<AffineMap> maps,
                             ArrayRef<utils::IteratorType> iterators,
                             BodyBuilder body) {
  auto generic = b.create<linalg::GenericOp>(
      loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        nested.create<linalg::YieldOp>(nestedLoc,
                                       body(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

Value lowering::buildElementwise(OpBuilder &b, Location loc,
                                 RankedTensorType resultType, ValueRange inputs,
                                 BodyBuilder body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = resultType.getRank();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(
        broadcastMap(tensorType(input).getShape(), resultType.getShape(), ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return buildGeneric(
      b, loc, createEmpty(b, loc, resultType), inputs, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        // The output's element is not read.
        return body(nested, nestedLoc, args.drop_back());
      });
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

namespace {

// The scalar computation of each elementwise op, chosen by overloading on the
// op class; `x` holds the operands' elements.
Value scalarOp(AddOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::AddIOp>(loc, x[0], x[1]);
  return b.create<arith::AddFOp>(loc, x[0], x[1]);
}
Value scalarOp(SubOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::SubIOp>(loc, x[0], x[1]);
  return b.create<arith::SubFOp>(loc, x[0], x[1]);
}
Value scalarOp(MulOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::MulIOp>(loc, x[0], x[1]);
  return b.create<arith::MulFOp>(loc, x[0], x[1]);
}
Value scalarOp(DivOp, OpBuilder &b, Location loc, ValueRange x) {
  return b.create<arith::DivFOp>(loc, x[0], x[1]);
}
Value scalarOp(NegOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0])) {
    Value zero = b.create<arith::ConstantOp>(
        loc, b.getIntegerAttr(x[0].getType(), 0));
    return b.create<arith::SubIOp>(loc, zero, x[0]);
  }
  return b.create<arith::NegFOp>(loc, x[0]);
}
Value scalarOp(ExpOp, OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::ExpOp>(loc, x[0]);
}
Value scalarOp(LogOp, OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::LogOp>(loc, x[0]);
}
// x > 0 ? x : 0, as the interpreter (NaN gives 0). Not arith.maxf, which
// lowers to llvm.maxnum: an fmaxf call on a Cortex-M4.
Value scalarOp(ReluOp, OpBuilder &b, Location loc, ValueRange x) {
  Value zero = scalarConstant(b, loc, x[0].getType(), 0.0);
  if (!isFloat(x[0]))
    return b.create<arith::MaxSIOp>(loc, x[0], zero);
  Value positive =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x[0], zero);
  return b.create<arith::SelectOp>(loc, positive, x[0], zero);
}
Value scalarOp(BroadcastToOp, OpBuilder &, Location, ValueRange x) {
  return x[0]; // The indexing map does the broadcasting.
}
Value scalarOp(CompareOp op, OpBuilder &b, Location loc, ValueRange x) {
  // Ordered predicates except `ne`, which is unordered: exactly C++'s
  // ==, !=, <, <=, >, >= on floats, NaN included.
  auto predicate = llvm::StringSwitch<arith::CmpFPredicate>(op.getPredicate())
                       .Case("eq", arith::CmpFPredicate::OEQ)
                       .Case("ne", arith::CmpFPredicate::UNE)
                       .Case("lt", arith::CmpFPredicate::OLT)
                       .Case("le", arith::CmpFPredicate::OLE)
                       .Case("gt", arith::CmpFPredicate::OGT)
                       .Case("ge", arith::CmpFPredicate::OGE)
                       .Default(arith::CmpFPredicate::OEQ); // verified
  Type type = x[0].getType();
  Value holds;
  if (isFloat(x[0])) {
    holds = b.create<arith::CmpFOp>(loc, predicate, x[0], x[1]);
  } else {
    auto signedPredicate =
        llvm::StringSwitch<arith::CmpIPredicate>(op.getPredicate())
            .Case("eq", arith::CmpIPredicate::eq)
            .Case("ne", arith::CmpIPredicate::ne)
            .Case("lt", arith::CmpIPredicate::slt)
            .Case("le", arith::CmpIPredicate::sle)
            .Case("gt", arith::CmpIPredicate::sgt)
            .Default(arith::CmpIPredicate::sge);
    holds = b.create<arith::CmpIOp>(loc, signedPredicate, x[0], x[1]);
  }
  Value one = scalarConstant(b, loc, type, 1.0);
  Value zero = scalarConstant(b, loc, type, 0.0);
  return b.create<arith::SelectOp>(loc, holds, one, zero);
}

/// Any elementwise op (broadcasting binary, compare, unary, broadcast_to):
/// one all-parallel linalg.generic over the result shape.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = lowering::buildElementwise(
        rewriter, op.getLoc(), lowering::tensorType(op.getResult()),
        adaptor.getOperands(), [&](OpBuilder &b, Location loc, ValueRange x) {
          return scalarOp(op, b, loc, x);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// stop_gradient only matters to autodiff; with value semantics the identity
/// needs no copy, so uses read the operand directly.
struct StopGradientLowering : OpConversionPattern<StopGradientOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(StopGradientOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

/// kiln.constant -> arith.constant with the same elements attribute, which
/// bufferizes to a memref.global.
struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = op.getValue().dyn_cast<TypedAttr>();
    if (!value || value.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "value type differs from result");
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

} // namespace

void lowering::populateElementwisePatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<CompareOp>, ElementwiseLowering<NegOp>,
               ElementwiseLowering<ExpOp>, ElementwiseLowering<LogOp>,
               ElementwiseLowering<ReluOp>, ElementwiseLowering<BroadcastToOp>,
               StopGradientLowering, ConstantLowering>(ctx);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct ConvertKilnToLinalgPass
    : kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  using ConvertKilnToLinalgBase::ConvertKilnToLinalgBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();

    // A vjp has no lowering: its meaning is the backward graph that
    // -kiln-autodiff builds. Report each one at its (user source) location
    // rather than as a generic "failed to legalize".
    bool foundVJP = false;
    module.walk([&](VJPOp op) {
      op.emitError(
          "kiln.vjp must be expanded by -kiln-autodiff before lowering");
      foundVJP = true;
    });
    if (foundVJP)
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<KilnDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           func::FuncDialect, scf::SCFDialect>();

    RewritePatternSet patterns(&getContext());
    lowering::populateElementwisePatterns(patterns);
    lowering::populateStructuredPatterns(patterns, transposedMatmulOperands);
    lowering::populateElementwiseGroupPatterns(patterns);
    lowering::populateLayoutGroupPatterns(patterns);
    lowering::populateNNGroupPatterns(patterns, im2colChunkBytes);
    lowering::populatePoolGroupPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
