//===- losses.h - torch.nn.functional losses, traced ------------*- C++ -*-===//
//
// Every loss takes a Reduction like PyTorch's `reduction=` ("mean" by
// default; None keeps one value per element or sample) and is a composite
// of differentiable kiln ops. Class targets are integer tensors [N].
// nn.h keeps the two-argument cross_entropy and mse_loss (mean).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_LOSSES_H
#define KILN_DSL_LOSSES_H

#include "kiln/dsl/Tensor.h"

namespace kiln::dsl::nn {

enum class Reduction { Mean, Sum, None };

/// torch.nn.functional.cross_entropy on logits [N, C]. `target` is either
/// integer class indices [N] or class probabilities [N, C] (float). With
/// label_smoothing e the target becomes (1 - e) * target + e / C.
Tensor cross_entropy(const Tensor &logits, const Tensor &target,
                     Reduction reduction, double label_smoothing = 0.0,
                     Loc loc = Loc::current());
/// Mean/sum/elementwise squared error; shapes must match.
Tensor mse_loss(const Tensor &input, const Tensor &target, Reduction reduction,
                Loc loc = Loc::current());
/// |input - target|; the gradient at 0 is 0, as in PyTorch.
Tensor l1_loss(const Tensor &input, const Tensor &target,
               Reduction reduction = Reduction::Mean, Loc loc = Loc::current());
/// -log_probs[n, target[n]] on log-probabilities [N, C] (after log_softmax);
/// -inf in other classes is never read, as in PyTorch.
Tensor nll_loss(const Tensor &log_probs, const Tensor &target,
                Reduction reduction = Reduction::Mean,
                Loc loc = Loc::current());
/// -(y log p + (1 - y) log(1 - p)) on probabilities p, each log clamped at
/// -100 as in PyTorch (finite for p = 0 or 1); the gradient is PyTorch's,
/// (p - y) / max(p (1 - p), 1e-12): +-1e12 at a saturated wrong p.
Tensor binary_cross_entropy(const Tensor &probs, const Tensor &target,
                            Reduction reduction = Reduction::Mean,
                            Loc loc = Loc::current());
/// binary_cross_entropy(sigmoid(x), y), computed stably as
/// max(x, 0) - x y + log(1 + exp(-|x|)); finite for any finite logit.
Tensor binary_cross_entropy_with_logits(const Tensor &logits,
                                        const Tensor &target,
                                        Reduction reduction = Reduction::Mean,
                                        Loc loc = Loc::current());
/// torch.nn.MultiMarginLoss with p = 1: per sample
/// sum_{i != y} max(0, margin - x[y] + x[i]) / C, on scores [N, C].
Tensor multi_margin_loss(const Tensor &scores, const Tensor &target,
                         double margin = 1.0,
                         Reduction reduction = Reduction::Mean,
                         Loc loc = Loc::current());
/// torch.nn.HingeEmbeddingLoss: x where y == 1, max(0, margin - x) where
/// y == -1 (y is a float tensor of +-1 with x's shape).
Tensor hinge_embedding_loss(const Tensor &input, const Tensor &target,
                            double margin = 1.0,
                            Reduction reduction = Reduction::Mean,
                            Loc loc = Loc::current());

} // namespace kiln::dsl::nn

#endif // KILN_DSL_LOSSES_H
