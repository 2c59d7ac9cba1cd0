//===- losses.cpp - torch.nn.functional losses, traced --------------------===//
//
// Composites of kiln ops; each opens a LocationScope so that its ops and
// shape errors point at the user's call.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/losses.h"

#include "kiln/dsl/Program.h"
#include "kiln/dsl/functional.h"

namespace kiln::dsl::nn {

namespace {
Tensor reduce(const Tensor &loss, Reduction reduction) {
  switch (reduction) {
  case Reduction::Mean:
    return loss.mean();
  case Reduction::Sum:
    return loss.sum();
  case Reduction::None:
    break;
  }
  return loss;
}

bool isInteger(DType dtype) {
  return dtype == DType::i32 || dtype == DType::i64;
}

void checkSameShape(const char *what, const Tensor &input, const Tensor &target,
                    Loc loc) {
  if (input.shape() != target.shape())
    raise_error(loc, std::string(what) + ": input shape " +
                         to_string(input.shape()) + " and target shape " +
                         to_string(target.shape()) + " differ");
  if (isInteger(target.dtype()))
    raise_error(loc, std::string(what) + ": the target must be a float "
                                         "tensor");
}

/// Scores [N, C] and integer class indices [N].
void checkClassTarget(const char *what, const Tensor &scores,
                      const Tensor &target, Loc loc) {
  if (scores.rank() != 2 || target.rank() != 1 ||
      target.size(0) != scores.size(0) || !isInteger(target.dtype()))
    raise_error(loc, std::string(what) +
                         " expects scores [N, C] and integer class indices "
                         "[N], got " +
                         to_string(scores.shape()) + " and " +
                         to_string(target.shape()));
}

/// log(v) clamped below at -100, with a finite gradient at v = 0.
Tensor clampedLog(const Tensor &v) {
  Tensor positive = gt(v, 0.0);
  Tensor logV = log(where(positive, v, 1.0));
  return where(positive, clamp_min(logV, -100.0), -100.0);
}

/// `value`, exactly, but with d value / d input = `slope` (elementwise): with
/// s = input * detach(slope), s - detach(s) is 0 (the same finite product
/// twice) and differentiates to `slope`. `value` must see `input` only
/// through a detached copy.
Tensor withInputGradient(const Tensor &value, const Tensor &input,
                         const Tensor &slope) {
  Tensor scaled = input * stop_gradient(slope);
  return value + (scaled - stop_gradient(scaled));
}

/// log_probs[n, target[n]] as a [N, C] tensor zero elsewhere. A select, not
/// a product with one_hot: 0 * -inf would be NaN where a class PyTorch
/// never reads has probability 0 (a masked logit).
Tensor pickClass(const Tensor &logProbs, const Tensor &target) {
  return where(one_hot(target, logProbs.size(1), logProbs.dtype()), logProbs,
               0.0);
}
} // namespace

// loss_n = -sum_c t_nc log softmax(x_n)_c, t = (1 - e) onehot(y) + e / C.
Tensor cross_entropy(const Tensor &logits, const Tensor &target,
                     Reduction reduction, double label_smoothing, Loc loc) {
  LocationScope scope(loc);
  bool probabilities = !isInteger(target.dtype());
  if (probabilities ? logits.rank() != 2 || target.shape() != logits.shape()
                    : logits.rank() != 2 || target.rank() != 1 ||
                          target.size(0) != logits.size(0))
    raise_error(loc, "cross_entropy expects logits [N, C] and class indices "
                     "[N] (or probabilities [N, C]), got logits " +
                         to_string(logits.shape()) + " and target " +
                         to_string(target.shape()));
  if (label_smoothing < 0.0 || label_smoothing > 1.0)
    raise_error(loc, "cross_entropy: label_smoothing must be in [0, 1], got " +
                         std::to_string(label_smoothing));
  int64_t classes = logits.size(1);
  Tensor logProbs = log_softmax(logits, 1);
  if (probabilities) {
    // As PyTorch: -sum(t log p), so 0 * -inf is NaN here too.
    Tensor t = target;
    if (label_smoothing != 0.0)
      t = (1.0 - label_smoothing) * t + label_smoothing / double(classes);
    return reduce(-sum(t * logProbs, {1}), reduction);
  }
  // As PyTorch: (1 - e) nll + e / C * -sum_c log p_c.
  Tensor loss = -sum(pickClass(logProbs, target), {1});
  if (label_smoothing != 0.0)
    loss = (1.0 - label_smoothing) * loss -
           label_smoothing / double(classes) * sum(logProbs, {1});
  return reduce(loss, reduction);
}

Tensor mse_loss(const Tensor &input, const Tensor &target, Reduction reduction,
                Loc loc) {
  LocationScope scope(loc);
  checkSameShape("mse_loss", input, target, loc);
  Tensor diff = input - target;
  return reduce(diff * diff, reduction);
}

Tensor l1_loss(const Tensor &input, const Tensor &target, Reduction reduction,
               Loc loc) {
  LocationScope scope(loc);
  checkSameShape("l1_loss", input, target, loc);
  return reduce(abs(input - target), reduction);
}

Tensor nll_loss(const Tensor &log_probs, const Tensor &target,
                Reduction reduction, Loc loc) {
  LocationScope scope(loc);
  checkClassTarget("nll_loss", log_probs, target, loc);
  return reduce(-sum(pickClass(log_probs, target), {1}), reduction);
}

Tensor binary_cross_entropy(const Tensor &probs, const Tensor &target,
                            Reduction reduction, Loc loc) {
  LocationScope scope(loc);
  checkSameShape("binary_cross_entropy", probs, target, loc);
  // The target's gradient comes from the clamped forward (-logit(p), +-100
  // at p = 0 or 1 where PyTorch's is infinite); the probabilities' from
  // PyTorch's backward, (p - t) / max(p (1 - p), eps): the derivative of the
  // clamped logs would be 0 at p = 0 or 1 (no push back from a confidently
  // wrong p) and 1/p = 1e30 at p = 1e-30. eps is PyTorch's float EPSILON
  // 1e-12f, in every dtype.
  Tensor frozen = stop_gradient(probs);
  Tensor loss = -(target * clampedLog(frozen) +
                  (1.0 - target) * clampedLog(1.0 - frozen));
  const double eps = double(1e-12f);
  Tensor slope = (probs - target) / clamp_min(probs * (1.0 - probs), eps);
  return reduce(withInputGradient(loss, probs, slope), reduction);
}

// max(x, 0) - x y + log(1 + e^-|x|): e^-|x| <= 1 never overflows, and
// maximum's even split at x = 0 makes the gradient sigmoid(x) - y there too.
Tensor binary_cross_entropy_with_logits(const Tensor &logits,
                                        const Tensor &target,
                                        Reduction reduction, Loc loc) {
  LocationScope scope(loc);
  checkSameShape("binary_cross_entropy_with_logits", logits, target, loc);
  Tensor zero = scalar(0.0, logits.dtype());
  Tensor loss =
      maximum(logits, zero) - logits * target + log(1.0 + exp(-abs(logits)));
  return reduce(loss, reduction);
}

Tensor multi_margin_loss(const Tensor &scores, const Tensor &target,
                         double margin, Reduction reduction, Loc loc) {
  LocationScope scope(loc);
  checkClassTarget("multi_margin_loss", scores, target, loc);
  int64_t classes = scores.size(1);
  Tensor isTarget = one_hot(target, classes, scores.dtype());
  Tensor targetScore = sum(scores * isTarget, {1}, /*keepdim=*/true);
  Tensor hinge = relu(margin - targetScore + scores) * (1.0 - isTarget);
  return reduce(sum(hinge, {1}) / double(classes), reduction);
}

// As PyTorch: where(y != 1, max(0, margin - x), 0) + where(y != -1, x, 0).
Tensor hinge_embedding_loss(const Tensor &input, const Tensor &target,
                            double margin, Reduction reduction, Loc loc) {
  LocationScope scope(loc);
  checkSameShape("hinge_embedding_loss", input, target, loc);
  Tensor marginTerm =
      where(ne(target, 1.0), clamp_min(margin - input, 0.0), 0.0);
  Tensor selfTerm = where(ne(target, -1.0), input, 0.0);
  return reduce(marginTerm + selfTerm, reduction);
}

} // namespace kiln::dsl::nn
