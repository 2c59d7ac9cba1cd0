//===- KilnCanonicalize.cpp - algebraic simplification of kiln ops --------===//
//
// Reverse-mode differentiation of `x @ W^T` produces `transpose(x^T @ g)`
// for the weight gradient; left alone it materializes two transposes and
// feeds a strided read into the optimizer update. These patterns move
// transposes towards the leaves, where pairs of them cancel.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace kiln;

namespace {
bool swapsLastTwo(ArrayRef<int64_t> perm) {
  size_t n = perm.size();
  if (n < 2)
    return false;
  for (size_t i = 0; i + 2 < n; ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return false;
  return perm[n - 2] == static_cast<int64_t>(n - 1) &&
         perm[n - 1] == static_cast<int64_t>(n - 2);
}

/// transpose(transpose(x, p), q) -> transpose(x, p o q)
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    ArrayRef<int64_t> p = inner.getPermutation(), q = op.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t d : q)
      composed.push_back(p[d]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, inner.getInput(), composed);
    return success();
  }
};

/// (A B)^T -> B^T A^T, when A or B is itself a transpose (so one transpose
/// disappears instead of one matmul output being transposed).
struct TransposeOfMatmul : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto matmul = op.getInput().getDefiningOp<MatmulOp>();
    if (!matmul || !swapsLastTwo(op.getPermutation()) ||
        !matmul->hasOneUse())
      return failure();
    auto isSwap = [](Value v) {
      auto t = v.getDefiningOp<TransposeOp>();
      return t && swapsLastTwo(t.getPermutation());
    };
    if (!isSwap(matmul.getLhs()) && !isSwap(matmul.getRhs()))
      return failure();
    ArrayRef<int64_t> perm = op.getPermutation();
    Location loc = op.getLoc();
    Value rhsT = rewriter.create<TransposeOp>(loc, matmul.getRhs(), perm);
    Value lhsT = rewriter.create<TransposeOp>(loc, matmul.getLhs(), perm);
    rewriter.replaceOpWithNewOp<MatmulOp>(op, rhsT, lhsT);
    return success();
  }
};
} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *context) {
  patterns.add<ComposeTransposes, TransposeOfMatmul>(context);
}
