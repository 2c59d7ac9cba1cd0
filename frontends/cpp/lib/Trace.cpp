//===- Trace.cpp - Program, Function and the op emitter -------------------===//

#include "Trace.h"

#include "kiln/InitAll.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln::dsl {
namespace detail {
namespace {
thread_local ProgramImpl *activeProgram = nullptr;
thread_local std::vector<Loc> locationScopes;

std::string formatLoc(Loc loc) {
  return std::string(loc.file_name()) + ":" + std::to_string(loc.line()) +
         ":" + std::to_string(loc.column());
}

/// Collects the diagnostics emitted while it lives, formatted like a
/// compiler's "file:line:col: error: message".
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &diag) {
          std::string text;
          llvm::raw_string_ostream os(text);
          if (auto fileLoc = diag.getLocation().dyn_cast<FileLineColLoc>())
            os << fileLoc.getFilename().getValue() << ":" << fileLoc.getLine()
               << ":" << fileLoc.getColumn() << ": ";
          os << "error: " << diag.str();
          messages.push_back(os.str());
          return success();
        }) {}
  std::string message() const {
    std::string all;
    for (const std::string &m : messages)
      all += (all.empty() ? "" : "\n") + m;
    return all;
  }

private:
  std::vector<std::string> messages;
  ScopedDiagnosticHandler handler;
};
} // namespace

void fail(Loc loc, const std::string &message) {
  Loc user = locationScopes.empty() ? loc : locationScopes.front();
  throw Error(formatLoc(user) + ": error: " + message);
}

FunctionImpl &activeFunction(Loc loc) {
  if (!activeProgram || !activeProgram->active)
    fail(loc, "no function is being traced (call Program::function first)");
  return *activeProgram->active;
}

Location locationOf(Loc loc) {
  Loc user = locationScopes.empty() ? loc : locationScopes.front();
  return FileLineColLoc::get(activeProgram->context.get(), user.file_name(),
                             user.line(), user.column());
}

Type elementTypeOf(MLIRContext *ctx, DType dtype) {
  switch (dtype) {
  case DType::f32:
    return Float32Type::get(ctx);
  case DType::f64:
    return Float64Type::get(ctx);
  case DType::i32:
    return IntegerType::get(ctx, 32);
  case DType::i64:
    return IntegerType::get(ctx, 64);
  }
  return {};
}

static DType dtypeOf(Type type) {
  if (type.isF64())
    return DType::f64;
  if (type.isInteger(32))
    return DType::i32;
  if (type.isInteger(64))
    return DType::i64;
  return DType::f32;
}

Value valueOf(const Tensor &t, Loc loc) {
  FunctionImpl &f = activeFunction(loc);
  if (!t.defined())
    fail(loc, "use of an undefined tensor");
  Value v = Value::getFromOpaquePointer(t.value());
  Region *region = v.getParentRegion();
  if (!region || region->getParentOp() != f.fn.getOperation())
    fail(loc, "tensor belongs to another traced function");
  return v;
}

Tensor tensorOf(Value v) {
  auto type = v.getType().cast<RankedTensorType>();
  return Tensor::fromValue(v.getAsOpaquePointer(),
                           Shape(type.getShape().begin(), type.getShape().end()),
                           dtypeOf(type.getElementType()));
}

std::vector<Tensor> insertTraced(FunctionImpl &f, OperationState &state,
                                 bool inferResultTypes) {
  MLIRContext *ctx = f.program->context.get();
  DiagnosticCollector diagnostics(ctx);
  if (inferResultTypes) {
    std::optional<RegisteredOperationName> info =
        state.name.getRegisteredInfo();
    if (auto *infer = info->getInterface<InferTypeOpInterface>()) {
      SmallVector<Type> types;
      if (failed(infer->inferReturnTypes(ctx, state.location, state.operands,
                                         state.attributes.getDictionary(ctx),
                                         state.regions, types)))
        throw Error(diagnostics.message());
      state.addTypes(types);
    }
  }
  Operation *op = f.builder.create(state);
  if (failed(verify(op))) {
    std::string message = diagnostics.message();
    op->erase();
    throw Error(message);
  }
  std::vector<Tensor> results;
  for (Value result : op->getResults())
    results.push_back(tensorOf(result));
  return results;
}
} // namespace detail

void raise_error(Loc loc, const std::string &message) {
  detail::fail(loc, message);
}

//===----------------------------------------------------------------------===//
// Program and Function
//===----------------------------------------------------------------------===//

Program::Program() : impl_(std::make_unique<detail::ProgramImpl>()) {
  DialectRegistry registry;
  kiln::registerAllDialects(registry);
  impl_->context = std::make_unique<MLIRContext>(registry);
  impl_->context->loadDialect<kiln::KilnDialect, func::FuncDialect>();
  impl_->module = ModuleOp::create(UnknownLoc::get(impl_->context.get()));
}

Program::~Program() {
  if (detail::activeProgram == impl_.get())
    detail::activeProgram = nullptr;
  if (impl_ && impl_->active)
    delete impl_->active;
}
Program::Program(Program &&) noexcept = default;
Program &Program::operator=(Program &&) noexcept = default;

Function Program::function(const std::string &name) {
  if (impl_->active)
    throw Error("function '" + name + "' started while '" +
                impl_->active->fn.getName().str() + "' is still being traced");
  MLIRContext *ctx = impl_->context.get();
  auto *f = new detail::FunctionImpl(ctx);
  f->program = impl_.get();
  OpBuilder moduleBuilder = OpBuilder::atBlockEnd(impl_->module->getBody());
  f->fn = moduleBuilder.create<func::FuncOp>(
      UnknownLoc::get(ctx), name, FunctionType::get(ctx, {}, {}));
  f->builder.setInsertionPointToStart(f->fn.addEntryBlock());
  impl_->active = f;
  detail::activeProgram = impl_.get();
  return Function(f);
}

void Program::set_model_info(const ModelInfo &info) {
  Builder b(impl_->context.get());
  impl_->module.get()->setAttr(
      kiln::KilnDialect::getModelAttrName(),
      b.getDictionaryAttr(
          {b.getNamedAttr("name", b.getStringAttr(info.name)),
           b.getNamedAttr("batch_size", b.getI64IntegerAttr(info.batch_size)),
           b.getNamedAttr("num_classes", b.getI64IntegerAttr(info.num_classes)),
           b.getNamedAttr("input_shape",
                          b.getDenseI64ArrayAttr(info.input_shape)),
           b.getNamedAttr("default_lr", b.getF64FloatAttr(info.default_lr)),
           b.getNamedAttr("task", b.getStringAttr(to_string(info.task)))}));
}

const char *to_string(Task task) {
  switch (task) {
  case Task::regression:
    return "regression";
  case Task::binary:
    return "binary";
  case Task::classification:
    break;
  }
  return "classification";
}

std::string Program::str() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  impl_->module->print(os, flags);
  return os.str();
}

static Tensor addArgument(detail::FunctionImpl *f, const std::string &state,
                          const Shape &shape, DType dtype, Loc loc) {
  MLIRContext *ctx = f->program->context.get();
  for (int64_t d : shape)
    if (d <= 0)
      detail::fail(loc, "input dimensions must be positive, got " +
                            to_string(shape));
  auto type =
      RankedTensorType::get(shape, detail::elementTypeOf(ctx, dtype));
  Block &entry = f->fn.getBody().front();
  Value arg = entry.addArgument(type, detail::locationOf(loc));
  f->argState.push_back(state);
  f->fn.setType(FunctionType::get(ctx, entry.getArgumentTypes(), {}));
  return detail::tensorOf(arg);
}

Tensor Function::input(Shape shape, DType dtype, Loc loc) {
  return addArgument(impl, "", shape, dtype, loc);
}

Tensor Function::state_input(const std::string &name, Shape shape,
                             DType dtype, Loc loc) {
  return addArgument(impl, name, shape, dtype, loc);
}

void Function::output(const Tensor &value, Loc loc) {
  impl->results.push_back(detail::valueOf(value, loc));
  impl->resultState.push_back("");
}

void Function::state_output(const std::string &name, const Tensor &value,
                            Loc loc) {
  impl->results.push_back(detail::valueOf(value, loc));
  impl->resultState.push_back(name);
}

void Function::observation_output(const std::string &name,
                                  const Tensor &value, Loc loc) {
  state_output(name, value, loc);
  impl->observations.push_back(name);
}

void Function::finish() {
  detail::FunctionImpl *f = impl;
  MLIRContext *ctx = f->program->context.get();
  f->builder.create<func::ReturnOp>(UnknownLoc::get(ctx), f->results);
  SmallVector<Type> resultTypes;
  for (Value v : f->results)
    resultTypes.push_back(v.getType());
  f->fn.setType(FunctionType::get(
      ctx, f->fn.getBody().front().getArgumentTypes(), resultTypes));
  Builder b(ctx);
  std::vector<StringRef> args(f->argState.begin(), f->argState.end());
  std::vector<StringRef> results(f->resultState.begin(),
                                 f->resultState.end());
  f->fn->setAttr(kiln::KilnDialect::getStateArgsAttrName(),
                 b.getStrArrayAttr(args));
  f->fn->setAttr(kiln::KilnDialect::getStateResultsAttrName(),
                 b.getStrArrayAttr(results));
  if (!f->observations.empty()) {
    std::vector<StringRef> observed(f->observations.begin(),
                                    f->observations.end());
    f->fn->setAttr(kiln::KilnDialect::getObservationsAttrName(),
                   b.getStrArrayAttr(observed));
  }
  f->program->active = nullptr;
  delete f;
}

//===----------------------------------------------------------------------===//
// Location scopes and registration
//===----------------------------------------------------------------------===//

LocationScope::LocationScope(Loc loc) {
  detail::locationScopes.push_back(loc);
}
LocationScope::~LocationScope() { detail::locationScopes.pop_back(); }

static Program (*registeredBuilder)() = nullptr;
ProgramRegistration::ProgramRegistration(const char *, Program (*build)()) {
  registeredBuilder = build;
}
Program (*registered_program())() { return registeredBuilder; }

} // namespace kiln::dsl
