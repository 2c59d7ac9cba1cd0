//===- hooks.h - observing activations and gradients ------------*- C++ -*-===//
//
// PyTorch's forward hooks, backward hooks and Tensor.retain_grad(), compiled:
// a traced program cannot call back into C++ while it runs, so an observed
// value and its gradient are stored where the caller can read them after
// each step instead. In the training step build_classifier traces,
//
//   Tensor h = observe(relu(fc1(x)), "fc1.relu");
//
// stores h under the state name "fc1.relu" and d loss / d h under
// "fc1.relu.grad" in the arena: state entries flagged KILN_STATE_OBSERVATION
// in the generated header's state table, valid after a step, never saved in
// checkpoints, and written out by the trainer's --dump-observations. The
// gradient is that of the loss itself: before gradient clipping and without
// loss scaling. With accumulation_steps k > 1 each entry stacks the k
// micro-batches' values on a new leading axis.
//
// Observing costs a copy per step (and, for a value before frozen layers,
// the backward ops down to it); unobserved programs are unchanged. Outside
// the training step (predict, functions traced by hand) observe() is the
// identity.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_HOOKS_H
#define KILN_DSL_HOOKS_H

#include "kiln/dsl/Tensor.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::dsl {

/// Records `value` (a float tensor) and its gradient under `name`; returns
/// `value` unchanged.
Tensor observe(const Tensor &value, const std::string &name,
               Loc loc = Loc::current());

/// A module call's forward and full backward hook in one: observes the
/// call's input as "<name>.input" and output as "<name>.output", so the
/// gradients "<name>.input.grad" and "<name>.output.grad" are PyTorch's
/// grad_input and grad_output.
template <class Module>
Tensor observe_call(const std::string &name, const Module &module,
                    const Tensor &input, Loc loc = Loc::current()) {
  return observe(module(observe(input, name + ".input", loc)),
                 name + ".output", loc);
}

namespace detail {
/// Collects the observe() calls of one traced training step; observe() is
/// the identity while no recorder is active. Not thread-safe: tracing is
/// single-threaded.
class ObservationRecorder {
public:
  ObservationRecorder();
  ~ObservationRecorder();
  ObservationRecorder(const ObservationRecorder &) = delete;
  ObservationRecorder &operator=(const ObservationRecorder &) = delete;

  /// Starts micro-batch `index`: names may repeat across micro-batches.
  void start_micro_batch(int64_t index) { micro_batch = index; }
  void record(const std::string &name, const Tensor &value, Loc loc);

  struct Observation {
    std::string name;
    std::vector<Tensor> values; ///< one per micro-batch
  };
  const std::vector<Observation> &observations() const { return recorded; }

private:
  std::vector<Observation> recorded;
  int64_t micro_batch = 0;
};
} // namespace detail

} // namespace kiln::dsl

#endif // KILN_DSL_HOOKS_H
