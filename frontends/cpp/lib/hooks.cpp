//===- hooks.cpp - observe() and its recorder -----------------------------===//

#include "kiln/dsl/hooks.h"

#include "Trace.h"

namespace kiln::dsl {

namespace {
detail::ObservationRecorder *activeRecorder = nullptr;
} // namespace

detail::ObservationRecorder::ObservationRecorder() {
  if (activeRecorder)
    throw Error("observe: a training step is already being traced");
  activeRecorder = this;
}

detail::ObservationRecorder::~ObservationRecorder() { activeRecorder = nullptr; }

void detail::ObservationRecorder::record(const std::string &name,
                                         const Tensor &value, Loc loc) {
  for (Observation &o : recorded) {
    if (o.name != name)
      continue;
    if (static_cast<int64_t>(o.values.size()) != micro_batch)
      detail::fail(loc, "observe: the name '" + name +
                            "' is observed twice in one step");
    o.values.push_back(value);
    return;
  }
  if (micro_batch != 0)
    detail::fail(loc, "observe: '" + name +
                          "' is observed in a later micro-batch but not in "
                          "the first");
  recorded.push_back({name, {value}});
}

Tensor observe(const Tensor &value, const std::string &name, Loc loc) {
  if (name.empty())
    detail::fail(loc, "observe: the name must not be empty");
  if (value.dtype() != DType::f32 && value.dtype() != DType::f64)
    detail::fail(loc, "observe: '" + name +
                          "' is not a float tensor, so it has no gradient");
  if (activeRecorder)
    activeRecorder->record(name, value, loc);
  return value;
}

} // namespace kiln::dsl
