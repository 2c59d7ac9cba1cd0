// numerics_check.h - the trainer's side of `kilnc --check-numerics`.
//
// A model built with --check-numerics stores, after every train_step, the id
// of the first op whose result had a NaN or Inf in its int32 state entry
// "kiln.numerics.first_nonfinite" (0: all finite); kiln_model_info's
// numerics_sites name each id's source. This reads it back after a step.
#ifndef KILN_RUNTIME_SRC_NUMERICS_CHECK_H
#define KILN_RUNTIME_SRC_NUMERICS_CHECK_H

#include "kiln/runtime/model_abi.h"

#include <string>

namespace kiln::runtime {

class NumericsCheck {
public:
  /// `environment` is KILN_CHECK_NUMERICS ("0" turns the check off, null or
  /// anything else leaves it on when the model has one).
  NumericsCheck(const kiln_model_info *model, const char *environment);

  /// Whether the model was built with --check-numerics (and the check is on).
  bool enabled() const { return slotOffset_ >= 0; }
  /// True when KILN_CHECK_NUMERICS=1 asked for a check the model lacks.
  bool requestedButMissing() const { return requestedButMissing_; }

  /// After a step: "" if every checked value was finite, else the first
  /// site, e.g. "mlp.cpp:16:14 kiln.matmul (forward, fc2.weight)".
  std::string firstNonFinite(const void *arena) const;

private:
  const kiln_model_info *model_;
  int64_t slotOffset_ = -1;
  bool requestedButMissing_ = false;
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_NUMERICS_CHECK_H
