//===- ABI.cpp - read the C ABI off planned IR; write the C header --------===//

#include "kiln/Target/ABI.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Format.h"

using namespace mlir;

namespace {
/// The runtime's model_abi.h, embedded at build time so the generated header
/// is self-contained yet defines kiln_model_info exactly as the runtime does.
const char *const kModelAbiHeader =
#include "ModelAbiText.inc"
    ;

FailureOr<std::string> cTypeOf(Type type) {
  if (type.isF32())
    return std::string("float");
  if (type.isF64())
    return std::string("double");
  if (type.isInteger(32))
    return std::string("int32_t");
  if (type.isInteger(64))
    return std::string("int64_t");
  if (type.isInteger(8))
    return std::string("uint8_t");
  return failure();
}

/// The number of elements of `shape`, or nothing when it overflows int64_t
/// (the memory plan rejects such buffers; a model attribute may not).
std::optional<int64_t> elementCount(ArrayRef<int64_t> shape) {
  std::optional<int64_t> count = 1;
  for (int64_t dim : shape)
    if (count)
      count = llvm::checkedMul(*count, dim);
  return count;
}

FailureOr<kiln::AbiBuffer> bufferOf(Type type) {
  auto memref = type.dyn_cast<MemRefType>();
  if (!memref || !memref.hasStaticShape())
    return failure();
  auto cType = cTypeOf(memref.getElementType());
  if (failed(cType))
    return failure();
  kiln::AbiBuffer buffer;
  buffer.cType = *cType;
  std::optional<int64_t> elements = elementCount(memref.getShape());
  if (!elements)
    return failure();
  buffer.shape.assign(memref.getShape().begin(), memref.getShape().end());
  buffer.elements = *elements;
  return buffer;
}

std::string shapeComment(const kiln::AbiBuffer &buffer) {
  if (buffer.shape.empty())
    return "scalar";
  std::string text;
  for (int64_t d : buffer.shape)
    text += "[" + std::to_string(d) + "]";
  return text;
}

const char *dtypeEnum(llvm::StringRef cType) {
  return llvm::StringSwitch<const char *>(cType)
      .Case("double", "KILN_F64")
      .Case("int32_t", "KILN_I32")
      .Case("int64_t", "KILN_I64")
      .Default("KILN_F32");
}

std::string upper(llvm::StringRef s) {
  std::string out;
  for (char c : s)
    out += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  return out;
}
} // namespace

const kiln::AbiFunction *kiln::ModuleAbi::lookup(llvm::StringRef name) const {
  for (const AbiFunction &fn : functions)
    if (fn.name == name)
      return &fn;
  return nullptr;
}

FailureOr<kiln::ModuleAbi> kiln::extractAbi(ModuleOp module) {
  ModuleAbi abi;
  auto arena = module->getAttrOfType<IntegerAttr>(
      kiln::KilnDialect::getArenaBytesAttrName());
  auto stateBytes = module->getAttrOfType<IntegerAttr>(
      kiln::KilnDialect::getStateBytesAttrName());
  if (!arena || !stateBytes)
    return module.emitError("module has no static memory plan "
                            "(run -kiln-static-memory-plan first)");
  abi.arenaBytes = arena.getInt();
  abi.stateBytes = stateBytes.getInt();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal() || fn.isPrivate())
      continue;
    auto numOutputs = fn->getAttrOfType<IntegerAttr>(
        kiln::KilnDialect::getNumOutputsAttrName());
    if (!numOutputs || fn.getNumResults() != 0)
      return fn.emitError("function has no planned C ABI");
    AbiFunction entry;
    entry.name = fn.getName().str();
    ArrayRef<Type> args = fn.getArgumentTypes().drop_front();
    size_t firstOutput = args.size() - numOutputs.getInt();
    for (auto [i, type] : llvm::enumerate(args)) {
      auto buffer = bufferOf(type);
      if (failed(buffer))
        return fn.emitError("argument type ") << type << " has no C ABI";
      (i < firstOutput ? entry.inputs : entry.outputs).push_back(*buffer);
    }
    abi.functions.push_back(std::move(entry));
  }
  if (auto layout = module->getAttrOfType<ArrayAttr>(
          kiln::KilnDialect::getStateLayoutAttrName())) {
    for (Attribute a : layout) {
      auto dict = a.cast<DictionaryAttr>();
      AbiStateEntry entry;
      entry.name = dict.getAs<StringAttr>("name").getValue().str();
      entry.offset = dict.getAs<IntegerAttr>("offset").getInt();
      Type type = dict.getAs<TypeAttr>("type").getValue();
      auto buffer = bufferOf(type);
      if (failed(buffer))
        return module.emitError("state '")
               << entry.name << "' of type " << type << " has no C ABI";
      entry.buffer = *buffer;
      entry.observation = dict.contains("observation");
      abi.state.push_back(std::move(entry));
    }
  }
  if (auto sites = module->getAttrOfType<ArrayAttr>(
          kiln::KilnDialect::getNumericsSitesAttrName()))
    for (Attribute site : sites)
      abi.numericsSites.push_back(site.cast<StringAttr>().getValue().str());
  if (auto model = module->getAttrOfType<DictionaryAttr>(
          kiln::KilnDialect::getModelAttrName())) {
    AbiModel info;
    info.name = model.getAs<StringAttr>("name").getValue().str();
    info.batchSize = model.getAs<IntegerAttr>("batch_size").getInt();
    info.numClasses = model.getAs<IntegerAttr>("num_classes").getInt();
    for (int64_t d : model.getAs<DenseI64ArrayAttr>("input_shape").asArrayRef())
      info.inputShape.push_back(d);
    if (!elementCount(info.inputShape))
      return module.emitError("the model's input shape has more elements "
                              "than an int64_t counts");
    info.defaultLearningRate =
        model.getAs<FloatAttr>("default_lr").getValueAsDouble();
    if (auto task = model.getAs<StringAttr>("task")) {
      info.task = llvm::StringSwitch<int>(task.getValue())
                      .Case("classification", 0)
                      .Case("regression", 1)
                      .Case("binary", 2)
                      .Default(-1);
      if (info.task < 0)
        return module.emitError("unknown model task '")
               << task.getValue()
               << "' (expected classification, regression or binary)";
    }
    abi.model = info;
  }
  return abi;
}

static void emitPrototype(const kiln::AbiFunction &fn, llvm::raw_ostream &os) {
  os << "void " << fn.name << "(void *arena";
  int index = 0;
  for (const kiln::AbiBuffer &in : fn.inputs)
    os << ",\n    const " << in.cType << " *in" << index++ << " /* "
       << shapeComment(in) << " */";
  index = 0;
  for (const kiln::AbiBuffer &out : fn.outputs)
    os << ",\n    " << out.cType << " *out" << index++ << " /* "
       << shapeComment(out) << " */";
  os << ");\n\n";
}

/// The checked-mode table: the state entry kiln.numerics.first_nonfinite
/// holds 0 or an id; its site is <name>_numerics_sites[id - 1].
static void emitNumericsSites(const kiln::ModuleAbi &abi,
                              llvm::StringRef name, llvm::raw_ostream &os) {
  if (abi.numericsSites.empty())
    return;
  os << "/* Built with --check-numerics: after each call the int32_t state\n"
     << " * entry kiln.numerics.first_nonfinite is 0, or the id of the first\n"
     << " * check (in program order) that saw a NaN or Inf; its source is\n"
     << " * " << name << "_numerics_sites[id - 1]. */\n"
     << "#define " << upper(name) << "_NUMERICS_SITES "
     << abi.numericsSites.size() << "\n"
     << "#if defined(__GNUC__)\n__attribute__((unused))\n#endif\n"
     << "static const char *const " << name << "_numerics_sites[] = {\n";
  for (const std::string &site : abi.numericsSites) {
    os << "    \"";
    os.write_escaped(site);
    os << "\",\n";
  }
  os << "};\n\n";
}

static void emitModelInfo(const kiln::ModuleAbi &abi, llvm::raw_ostream &os) {
  const kiln::AbiModel &m = *abi.model;
  const std::string &n = m.name;
  const kiln::AbiFunction *step = abi.lookup(n + "_train_step");
  const std::string targetType =
      step && step->inputs.size() > 1 ? step->inputs[1].cType : "int32_t";
  os << kModelAbiHeader << "\n";
  os << "/* Adapters from the generated functions to kiln_model_info. */\n"
     << "static inline int " << n << "_info_init(void *arena, uint64_t seed) {\n"
     << "  int64_t s = (int64_t)seed;\n  " << n << "_init(arena, &s);\n"
     << "  return 0;\n}\n"
     << "static inline int " << n << "_info_train_step(void *arena, "
     << "const float *x, const void *y, float lr, float *loss) {\n  " << n
     << "_train_step(arena, x, (const " << targetType << " *)y, &lr, loss);\n"
     << "  return 0;\n}\n"
     << "static inline int " << n << "_info_predict(void *arena, "
     << "const float *x, float *logits) {\n  " << n
     << "_predict(arena, x, logits);\n  return 0;\n}\n\n";
  int64_t elements = *elementCount(m.inputShape); // checked by extractAbi
  os << "/** Everything a generic trainer needs to drive this model. */\n"
     << "static inline const kiln_model_info *" << n << "_model_info(void) {\n"
     << "  static const int64_t input_shape[] = {";
  llvm::interleaveComma(m.inputShape, os);
  os << "};\n";
  for (auto [i, entry] : llvm::enumerate(abi.state)) {
    os << "  static const int64_t state_shape" << i << "[] = {";
    if (entry.buffer.shape.empty())
      os << "1";
    llvm::interleaveComma(entry.buffer.shape, os);
    os << "};\n";
  }
  os << "  static const kiln_state_entry state[] = {\n";
  for (auto [i, entry] : llvm::enumerate(abi.state))
    os << "      {\"" << entry.name << "\", " << entry.offset << "u, "
       << dtypeEnum(entry.buffer.cType) << ", " << entry.buffer.shape.size()
       << ", state_shape" << i << ", "
       << (entry.observation ? "KILN_STATE_OBSERVATION" : "0") << "},\n";
  if (abi.state.empty())
    os << "      {0, 0, 0, 0, 0, 0},\n";
  os << "  };\n  static const kiln_model_info info = {\n"
     << "      \"" << n << "\", " << abi.arenaBytes << "u, " << m.batchSize
     << ", " << m.inputShape.size() << ", input_shape, " << elements << ", "
     << m.numClasses << ", " << llvm::format("%g", m.defaultLearningRate)
     << "f,\n      " << n << "_info_init, " << n << "_info_train_step, " << n
     << "_info_predict,\n      " << abi.state.size() << ", state, "
     << m.task << ", " << abi.numericsSites.size() << ", "
     << (abi.numericsSites.empty() ? "0" : n + "_numerics_sites")
     << "};\n  return &info;\n}\n\n";
}

void kiln::emitCHeader(const ModuleAbi &abi, llvm::StringRef guardName,
                       llvm::raw_ostream &os) {
  std::string prefix = upper(guardName);
  os << "/* Generated by kiln: do not edit.\n"
     << " *\n"
     << " * Every function takes the arena first: " << prefix
     << "_ARENA_BYTES bytes, 64-byte\n"
     << " * aligned, owned by the caller. Model state lives at fixed offsets at\n"
     << " * its start; the rest is scratch. No function allocates memory.\n"
     << " */\n"
     << "#ifndef " << prefix << "_H_\n#define " << prefix << "_H_\n\n"
     << "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#define " << prefix << "_ARENA_BYTES " << abi.arenaBytes << "u\n"
     << "#define " << prefix << "_STATE_BYTES " << abi.stateBytes << "u\n\n";
  if (!abi.state.empty()) {
    os << "/* State layout (byte offsets into the arena):\n";
    for (const AbiStateEntry &entry : abi.state)
      os << " *   " << entry.offset << "\t" << entry.buffer.cType
         << shapeComment(entry.buffer) << "\t" << entry.name
         << (entry.observation ? "\t(observation)" : "") << "\n";
    os << " */\n\n";
  }
  for (const AbiFunction &fn : abi.functions)
    emitPrototype(fn, os);
  emitNumericsSites(abi, guardName, os);
  if (abi.model)
    emitModelInfo(abi, os);
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << prefix << "_H_ */\n";
}
