//===- MemoryReport.cpp - the arena plan, as a report and a budget --------===//

#include "kiln/Driver/MemoryReport.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Format.h"

using namespace mlir;

namespace {
int64_t intField(DictionaryAttr dict, StringRef name) {
  return dict.getAs<IntegerAttr>(name).getInt();
}
std::string stringField(DictionaryAttr dict, StringRef name) {
  return dict.getAs<StringAttr>(name).getValue().str();
}
std::string typeText(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

/// What the caller passes by pointer: every argument after the arena.
int64_t callerBytes(func::FuncOp fn) {
  int64_t bytes = 0;
  for (Type type : fn.getArgumentTypes().drop_front())
    if (auto memref = type.dyn_cast<MemRefType>())
      bytes +=
          memref.getNumElements() * ((memref.getElementTypeBitWidth() + 7) / 8);
  return bytes;
}

std::string liveRange(const kiln::PlannedBuffer &buffer) {
  return std::to_string(buffer.first) + "-" + std::to_string(buffer.last);
}
} // namespace

const kiln::PlannedFunction *kiln::MemoryPlan::largest() const {
  const PlannedFunction *largest = nullptr;
  for (const PlannedFunction &fn : functions)
    if (!largest || fn.scratchBytes > largest->scratchBytes)
      largest = &fn;
  return largest;
}

kiln::MemoryPlan kiln::takeMemoryPlan(ModuleOp module) {
  MemoryPlan plan;
  if (auto bytes = module->getAttrOfType<IntegerAttr>("kiln.arena_bytes"))
    plan.arenaBytes = bytes.getInt();
  if (auto bytes = module->getAttrOfType<IntegerAttr>("kiln.state_bytes"))
    plan.stateBytes = bytes.getInt();
  // A state slot runs to the next one (the pass aligns every slot).
  if (auto layout = module->getAttrOfType<ArrayAttr>("kiln.state_layout")) {
    for (Attribute entry : layout) {
      auto dict = entry.cast<DictionaryAttr>();
      plan.state.push_back(
          {stringField(dict, "name"), intField(dict, "offset"), 0});
    }
    llvm::sort(plan.state, [](const PlannedState &a, const PlannedState &b) {
      return a.offset < b.offset;
    });
    for (size_t i = 0; i < plan.state.size(); ++i)
      plan.state[i].bytes =
          (i + 1 < plan.state.size() ? plan.state[i + 1].offset
                                     : plan.stateBytes) -
          plan.state[i].offset;
  }
  for (func::FuncOp fn : module.getOps<func::FuncOp>()) {
    auto recorded = fn->getAttrOfType<ArrayAttr>(kiln::KilnDialect::getMemoryPlanAttrName());
    if (!recorded)
      continue;
    PlannedFunction &planned = plan.functions.emplace_back();
    planned.name = fn.getName().str();
    planned.scratchBytes =
        fn->getAttrOfType<IntegerAttr>(kiln::KilnDialect::getScratchBytesAttrName()).getInt();
    planned.ioBytes = callerBytes(fn);
    for (Attribute entry : recorded) {
      auto dict = entry.cast<DictionaryAttr>();
      planned.buffers.push_back(
          {intField(dict, "offset"), intField(dict, "bytes"),
           intField(dict, "first"), intField(dict, "last"),
           stringField(dict, "first_op"), stringField(dict, "last_op"),
           typeText(dict.getAs<TypeAttr>("type").getValue()),
           stringField(dict, "source")});
    }
    llvm::stable_sort(
        planned.buffers, [](const PlannedBuffer &a, const PlannedBuffer &b) {
          return std::tie(a.offset, a.first) < std::tie(b.offset, b.first);
        });
    fn->removeAttr(kiln::KilnDialect::getMemoryPlanAttrName());
    fn->removeAttr(kiln::KilnDialect::getScratchBytesAttrName());
  }
  return plan;
}

void kiln::printMemoryReport(const MemoryPlan &plan, llvm::raw_ostream &os) {
  const PlannedFunction *largest = plan.largest();
  os << "memory report: arena " << plan.arenaBytes << " bytes = state "
     << plan.stateBytes << " + scratch "
     << (largest ? largest->scratchBytes : 0)
     << " (largest: " << (largest ? largest->name : "none") << ")\n\n";

  os << "state (parameters + optimizer state): " << plan.stateBytes
     << " bytes in " << plan.state.size() << " buffers\n";
  os << "    offset      bytes  name\n";
  for (const PlannedState &state : plan.state)
    os << llvm::format_decimal(state.offset, 10) << " "
       << llvm::format_decimal(state.bytes, 10) << "  " << state.name << "\n";

  for (const PlannedFunction &fn : plan.functions) {
    os << "\nfunction " << fn.name << ": scratch " << fn.scratchBytes
       << " bytes in " << fn.buffers.size() << " buffers; inputs/outputs "
       << fn.ioBytes << " bytes\n";
    os << "    offset      bytes  " << llvm::left_justify("live", 9) << "  "
       << llvm::left_justify("first op .. last op", 40) << "  "
       << llvm::left_justify("source", 24) << "  type\n";
    for (const PlannedBuffer &buffer : fn.buffers) {
      std::string ops = buffer.firstOp + " .. " + buffer.lastOp;
      os << llvm::format_decimal(buffer.offset, 10) << " "
         << llvm::format_decimal(buffer.bytes, 10) << "  "
         << llvm::left_justify(liveRange(buffer), 9) << "  "
         << llvm::left_justify(ops, 40) << "  "
         << llvm::left_justify(buffer.source, 24) << "  " << buffer.type
         << "\n";
    }
  }

  os << "\ntotals\n";
  std::vector<std::pair<std::string, int64_t>> totals = {
      {"arena (state + largest scratch)", plan.arenaBytes},
      {"state (parameters + optimizer)", plan.stateBytes}};
  for (const PlannedFunction &fn : plan.functions)
    totals.push_back({"scratch of " + fn.name, fn.scratchBytes});
  for (const PlannedFunction &fn : plan.functions)
    totals.push_back({"inputs/outputs of " + fn.name, fn.ioBytes});
  size_t width = 0;
  for (const auto &[what, bytes] : totals)
    width = std::max(width, what.size());
  for (const auto &[what, bytes] : totals)
    os << "  " << llvm::left_justify(what, width)
       << llvm::format_decimal(bytes, 12) << " bytes\n";
}

std::optional<int64_t> kiln::parseByteSize(llvm::StringRef text) {
  int64_t unit = 1;
  if (text.consume_back("KiB"))
    unit = 1024;
  else if (text.consume_back("MiB"))
    unit = 1024 * 1024;
  else
    text.consume_back("B");
  uint64_t count = 0;
  if (text.empty() || !llvm::all_of(text, llvm::isDigit) ||
      text.getAsInteger(10, count) ||
      count > uint64_t(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return llvm::checkedMul(int64_t(count), unit);
}

void kiln::explainOverBudget(const MemoryPlan &plan, int64_t budget,
                             llvm::StringRef reached, llvm::raw_ostream &os) {
  const PlannedFunction *largest = plan.largest();
  os << "kiln: error: the model does not fit --memory-budget=" << budget
     << " bytes: the smallest arena reached is " << plan.arenaBytes
     << " bytes (state " << plan.stateBytes << " + scratch "
     << (largest ? largest->scratchBytes : 0) << " of '"
     << (largest ? largest->name : "") << "')";
  if (!reached.empty())
    os << " " << reached;
  os << "\n";
  if (plan.stateBytes > budget)
    os << "kiln: note: the parameters and optimizer state alone need "
       << plan.stateBytes << " bytes\n";
  if (!largest || largest->buffers.empty())
    return;
  std::vector<const PlannedBuffer *> bySize;
  for (const PlannedBuffer &buffer : largest->buffers)
    bySize.push_back(&buffer);
  llvm::stable_sort(bySize, [](const PlannedBuffer *a, const PlannedBuffer *b) {
    return a->bytes > b->bytes;
  });
  bySize.resize(std::min<size_t>(bySize.size(), 3));
  os << "kiln: note: the largest buffers of '" << largest->name << "':\n";
  for (const PlannedBuffer *buffer : bySize)
    os << "  " << llvm::format_decimal(buffer->bytes, 10) << " bytes  "
       << buffer->source << "  " << buffer->type << ", live at ops "
       << liveRange(*buffer) << " (" << buffer->firstOp << " .. "
       << buffer->lastOp << ")\n";
}
