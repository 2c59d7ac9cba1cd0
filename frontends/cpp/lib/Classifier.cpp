//===- Classifier.cpp - trace init, train_step and predict ----------------===//
//
// State naming follows PyTorch: parameters by their state_dict names
// (`fc1.weight`), optimizer buffers as `<param>.<buffer>`
// (`fc1.weight.momentum_buffer`). Frozen parameters are state inputs of the
// step but never differentiated nor updated. Module buffers (`bn1.running_mean`)
// are state too: never differentiated, stored by the step when the module's
// forward in training mode set a new value. The step is traced in the modes
// the module tree has (training unless the user called eval() on a part),
// predict in evaluation mode (torch's model.train() / model.eval()).
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/Classifier.h"

#include "kiln/dsl/Autodiff.h"
#include "kiln/dsl/layout.h"
#include "kiln/dsl/functional.h"
#include "kiln/dsl/hooks.h"
#include "kiln/dsl/losses.h"

#include <set>

namespace kiln::dsl {

namespace {
struct NamedParameter {
  std::string name;
  nn::Parameter *parameter;
};

/// Binds every parameter to a state input of `fn` for the scope's lifetime.
class ParameterBinding {
public:
  ParameterBinding(Function &fn, const std::vector<NamedParameter> &params)
      : params(params) {
    for (const NamedParameter &p : params)
      p.parameter->bind(
          fn.state_input(p.name, p.parameter->shape(), p.parameter->dtype()),
          p.name);
  }
  ~ParameterBinding() {
    for (const NamedParameter &p : params)
      p.parameter->unbind();
  }

private:
  const std::vector<NamedParameter> &params;
};

/// The modes of the module tree while one function is traced, each module's
/// own mode restored afterwards. The train step keeps the modes as they are
/// (training after construction; a submodule the user put in eval mode stays
/// there, as PyTorch's `model.backbone.eval()` while fine-tuning); predict
/// puts the whole tree in eval mode.
class ModeScope {
public:
  enum Tracing { AsSet, Evaluation };
  ModeScope(nn::Module &model, Tracing tracing) {
    for (auto &[name, module] : model.named_modules())
      saved.push_back({module, module->is_training()});
    if (tracing == Evaluation)
      model.eval();
  }
  // train() recurses, so parents are restored before their children
  // (pre-order) and each module ends in its own saved mode.
  ~ModeScope() {
    for (auto &[module, training] : saved)
      module->train(training);
  }

private:
  std::vector<std::pair<nn::Module *, bool>> saved;
};

Tensor initialValue(const Tensor &seed, const nn::Parameter &p,
                    int64_t stream) {
  const nn::Init &init = p.init();
  switch (init.kind) {
  case nn::Init::Uniform:
    return random_uniform(seed, p.shape(), init.a, init.b, stream);
  case nn::Init::Normal:
    return random_normal(seed, p.shape(), init.a, init.b, stream);
  case nn::Init::Seed:
    if (!p.shape().empty() || p.dtype() != DType::i64)
      throw Error("Init::seed() needs a 0-d i64 buffer, got shape " +
                  to_string(p.shape()));
    return seed;
  case nn::Init::Constant:
    return full(p.shape(), init.a, p.dtype());
  case nn::Init::Zeros:
    break;
  }
  return full(p.shape(), 0.0, p.dtype());
}

Tensor defaultLoss(Task task, const Tensor &logits, const Tensor &y) {
  switch (task) {
  case Task::regression:
    return nn::mse_loss(logits, y);
  case Task::binary:
    return nn::binary_cross_entropy_with_logits(logits, y);
  case Task::classification:
    break;
  }
  return nn::cross_entropy(logits, y);
}

/// Checked before the loss sees the logits, so that a wrong forward is
/// reported as such rather than as a shape error inside the loss.
void checkLogits(const std::string &name, const ClassifierOptions &options,
                 const Tensor &logits, int64_t rows = 0) {
  Shape expected{rows ? rows : options.batch_size, options.num_classes};
  if (logits.shape() != expected)
    throw Error("model '" + name + "': forward returns shape " +
                to_string(logits.shape()) + ", expected logits " +
                to_string(expected));
}
} // namespace

MicroBatchOverride &micro_batch_override() {
  static MicroBatchOverride override;
  return override;
}

namespace {

/// What the three traced functions share: the options in effect, the model's
/// state by name, and the names already taken.
struct ClassifierParts {
  ClassifierParts(const std::string &name, nn::Module &model)
      : name(name), model(model) {}
  const std::string &name;
  nn::Module &model;
  ClassifierOptions options;
  std::vector<NamedParameter> params;        ///< model.named_parameters()
  std::vector<NamedParameter> moduleBuffers; ///< model.named_buffers()
  std::set<std::string> seen;                ///< State names in use.
  std::vector<std::string> bufferNames;      ///< Optimizer state per param.
  Shape batchShape;                          ///< [batch_size, input...]
};

/// \p requested with the micro-batch override applied (tests and the memory
/// budget set it), checked: accumulation_steps must divide batch_size.
ClassifierOptions resolveOptions(const std::string &name, nn::Module &model,
                                 const ClassifierOptions &requested) {
  ClassifierOptions options = requested;
  MicroBatchOverride &override = micro_batch_override();
  override.batch_coupled_state.clear();
  for (auto &[bufferName, buffer] : model.named_buffers()) {
    override.batch_coupled_state = bufferName;
    break;
  }
  if (override.accumulation_steps > 0 && override.batch_coupled_state.empty())
    options.accumulation_steps = override.accumulation_steps;
  override.batch_size = options.batch_size;
  override.traced_accumulation_steps = options.accumulation_steps;
  if (options.accumulation_steps < 1 ||
      options.batch_size % options.accumulation_steps != 0)
    throw Error("model '" + name + "': accumulation_steps " +
                std::to_string(options.accumulation_steps) +
                " must be >= 1 and divide batch_size " +
                std::to_string(options.batch_size));
  return options;
}

/// The model's parameters and buffers by name, each name once, and the
/// optimizer's parameter groups checked against them.
void collectState(ClassifierParts &parts) {
  const std::string &name = parts.name;
  for (auto &[paramName, parameter] : parts.model.named_parameters()) {
    if (!parts.seen.insert(paramName).second)
      throw Error("model '" + name + "': parameter name '" + paramName +
                  "' is registered twice");
    parts.params.push_back({paramName, parameter});
  }
  try {
    std::vector<std::string> paramNames;
    for (const NamedParameter &p : parts.params)
      paramNames.push_back(p.name);
    optim::check_param_groups(parts.options.update, paramNames);
  } catch (const Error &e) {
    throw Error("model '" + name + "': " + e.what());
  }
  for (auto &[bufferName, buffer] : parts.model.named_buffers()) {
    if (!parts.seen.insert(bufferName).second)
      throw Error("model '" + name + "': state name '" + bufferName +
                  "' is registered twice");
    parts.moduleBuffers.push_back({bufferName, buffer});
  }
  parts.bufferNames = parts.options.optimizer.state_names();
  parts.batchShape = {parts.options.batch_size};
  parts.batchShape.insert(parts.batchShape.end(),
                          parts.options.input_shape.begin(),
                          parts.options.input_shape.end());
}

/// <name>_init(seed): every parameter and module buffer from its Init, the
/// optimizer buffers of trainable parameters zero.
void traceInit(Program &program, const ClassifierParts &parts) {
  const auto &params = parts.params;
  const auto &moduleBuffers = parts.moduleBuffers;
  Function fn = program.function(parts.name + "_init");
  Tensor seed = fn.input({}, DType::i64);
  for (size_t k = 0; k < params.size(); ++k)
    fn.state_output(params[k].name,
                    initialValue(seed, *params[k].parameter, k));
  for (size_t k = 0; k < moduleBuffers.size(); ++k)
    fn.state_output(moduleBuffers[k].name,
                    initialValue(seed, *moduleBuffers[k].parameter,
                                 params.size() + k));
  for (const NamedParameter &p : params)
    if (p.parameter->requires_grad())
      for (const std::string &buffer : parts.bufferNames)
        fn.state_output(p.name + "." + buffer,
                        full(parts.options.optimizer.state_shape(
                                 buffer, p.parameter->shape()),
                             0.0));
  fn.finish();
}

/// The loss of one batch and its scaled gradients, accumulated over the
/// micro-batches, with the observations the forward recorded.
struct StepGradients {
  Tensor loss;
  std::vector<Tensor> scaledGrads; ///< Per trainable parameter.
  /// Per observation (in recorder order): d (scaled loss) / d value, per
  /// micro-batch.
  std::vector<std::vector<Tensor>> observedScaledGrads;
};

/// With accumulation, the loss is the mean of the micro-batch losses, so its
/// gradient is the mean of the micro-batch gradients. Each micro-batch is
/// differentiated right after its forward pass, so that its activations die
/// before the next one starts and the memory plan reuses them: k
/// micro-batches need the activations of one.
StepGradients microBatchGradients(const ClassifierParts &parts,
                                  const Forward &forward, const Loss &loss,
                                  const Tensor &x, const Tensor &y,
                                  const std::vector<Tensor> &wrt,
                                  detail::ObservationRecorder &recorder) {
  const ClassifierOptions &options = parts.options;
  const int64_t steps = options.accumulation_steps;
  const int64_t rows = options.batch_size / steps;
  StepGradients result;
  Tensor &l = result.loss;
  for (int64_t i = 0; i < steps; ++i) {
    recorder.start_micro_batch(i);
    Tensor xi = steps == 1 ? x : slice(x, 0, i * rows, (i + 1) * rows);
    Tensor yi = steps == 1 ? y : slice(y, 0, i * rows, (i + 1) * rows);
    Tensor logits = forward(xi);
    checkLogits(parts.name, options, logits, rows);
    Tensor li = loss ? loss(logits, yi) : defaultLoss(options.task, logits, yi);
    if (li.rank() != 0)
      throw Error("model '" + parts.name +
                  "': the loss must be a scalar, got shape " +
                  to_string(li.shape()));
    l = i == 0 ? li : l + li;
    std::vector<Tensor> of = wrt;
    std::vector<size_t> observedHere;
    const auto &observations = recorder.observations();
    for (size_t o = 0; o < observations.size(); ++o)
      if (static_cast<int64_t>(observations[o].values.size()) == i + 1) {
        of.push_back(observations[o].values[i]);
        observedHere.push_back(o);
      }
    std::vector<Tensor> gi = optim::scaled_gradients(
        li * (1.0 / static_cast<double>(steps)), of, options.update);
    if (i == 0)
      result.scaledGrads.assign(gi.begin(), gi.begin() + wrt.size());
    else
      for (size_t k = 0; k < wrt.size(); ++k)
        result.scaledGrads[k] = result.scaledGrads[k] + gi[k];
    result.observedScaledGrads.resize(observations.size());
    for (size_t j = 0; j < observedHere.size(); ++j)
      result.observedScaledGrads[observedHere[j]].push_back(
          gi[wrt.size() + j]);
  }
  if (steps > 1)
    l = l / static_cast<double>(steps);
  return result;
}

/// <name>_train_step(x, y, lr) -> loss: the forward and backward of each
/// micro-batch, the observations and their gradients, and the optimizer's
/// update of every trainable parameter and its buffers.
void traceTrainStep(Program &program, ClassifierParts &parts,
                    const Forward &forward, const Loss &loss) {
  const std::string &name = parts.name;
  const ClassifierOptions &options = parts.options;
  const std::vector<std::string> &bufferNames = parts.bufferNames;
  Function fn = program.function(name + "_train_step");
  ParameterBinding binding(fn, parts.params);
  ParameterBinding bufferBinding(fn, parts.moduleBuffers);
  ModeScope mode(parts.model, ModeScope::AsSet);
  std::vector<NamedParameter> trainable;
  std::vector<std::vector<Tensor>> buffers;
  for (const NamedParameter &p : parts.params) {
    if (!p.parameter->requires_grad())
      continue;
    trainable.push_back(p);
    buffers.emplace_back();
    for (const std::string &buffer : bufferNames)
      buffers.back().push_back(fn.state_input(
          p.name + "." + buffer,
          options.optimizer.state_shape(buffer, p.parameter->shape())));
  }
  Tensor x = fn.input(parts.batchShape);
  Tensor y = options.task == Task::classification
                 ? fn.input({options.batch_size}, DType::i32)
                 : fn.input({options.batch_size, options.num_classes});
  Tensor lr = fn.input({});
  const int64_t steps = options.accumulation_steps;
  std::vector<Tensor> wrt;
  for (const NamedParameter &p : trainable)
    wrt.push_back(p.parameter->value());
  detail::ObservationRecorder recorder;
  StepGradients step =
      microBatchGradients(parts, forward, loss, x, y, wrt, recorder);
  for (const auto &o : recorder.observations()) {
    if (static_cast<int64_t>(o.values.size()) != steps)
      throw Error("model '" + name + "': '" + o.name +
                  "' is observed in some micro-batches only");
    if (!parts.seen.insert(o.name).second ||
        !parts.seen.insert(o.name + ".grad").second)
      throw Error("model '" + name + "': the observation '" + o.name +
                  "' has the name of another state tensor");
  }
  std::vector<Tensor> grads =
      optim::finish_gradients(step.scaledGrads, options.update);
  fn.output(step.loss);
  // With micro-batches, each observation stacks their values.
  const auto &observations = recorder.observations();
  for (size_t o = 0; o < observations.size(); ++o) {
    const std::vector<Tensor> &values = observations[o].values;
    std::vector<Tensor> gradsOf =
        optim::unscale(step.observedScaledGrads[o], options.update);
    fn.observation_output(observations[o].name,
                          steps == 1 ? values[0] : stack(values, 0));
    fn.observation_output(observations[o].name + ".grad",
                          steps == 1 ? gradsOf[0] : stack(gradsOf, 0));
  }
  for (size_t k = 0; k < trainable.size(); ++k) {
    double factor = optim::lr_factor(options.update, trainable[k].name);
    Tensor updated =
        optim::optimizer_for(options.optimizer, options.update,
                             trainable[k].name)
            .step(wrt[k], grads[k], factor == 1.0 ? lr : lr * factor,
                  buffers[k]);
    fn.state_output(trainable[k].name, updated);
    for (size_t b = 0; b < bufferNames.size(); ++b)
      fn.state_output(trainable[k].name + "." + bufferNames[b],
                      buffers[k][b]);
  }
  for (const NamedParameter &b : parts.moduleBuffers)
    if (b.parameter->update().defined())
      fn.state_output(b.name, b.parameter->update());
  fn.finish();
}

/// <name>_predict(x) -> logits, in evaluation mode.
void tracePredict(Program &program, const ClassifierParts &parts,
                  const Forward &forward) {
  const ClassifierOptions &options = parts.options;
  Function fn = program.function(parts.name + "_predict");
  ParameterBinding binding(fn, parts.params);
  ParameterBinding bufferBinding(fn, parts.moduleBuffers);
  ModeScope mode(parts.model, ModeScope::Evaluation);
  // In the train step's micro-batches too, so that the whole model needs
  // the activations of one micro-batch (rows are independent in eval mode).
  Tensor x = fn.input(parts.batchShape);
  const int64_t steps = options.accumulation_steps;
  const int64_t rows = options.batch_size / steps;
  std::vector<Tensor> chunks;
  for (int64_t i = 0; i < steps; ++i) {
    Tensor logits =
        forward(steps == 1 ? x : slice(x, 0, i * rows, (i + 1) * rows));
    checkLogits(parts.name, options, logits, rows);
    chunks.push_back(logits);
  }
  fn.output(steps == 1 ? chunks[0] : cat(chunks, 0));
  fn.finish();
}

} // namespace

Program build_classifier(const std::string &name, nn::Module &model,
                         const ClassifierOptions &requested,
                         const Forward &forward, const Loss &loss) {
  ClassifierParts parts(name, model);
  parts.options = resolveOptions(name, model, requested);
  collectState(parts);
  Program program;
  traceInit(program, parts);
  traceTrainStep(program, parts, forward, loss);
  tracePredict(program, parts, forward);
  const ClassifierOptions &options = parts.options;
  program.set_model_info({name, options.batch_size, options.input_shape,
                          options.num_classes, options.optimizer.lr(),
                          options.task});
  return program;
}

} // namespace kiln::dsl
