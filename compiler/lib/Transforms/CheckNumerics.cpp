//===- CheckNumerics.cpp - report the first op that makes a NaN or Inf ----===//
//
// A training run that diverges stops at a NaN loss, long after (and far
// from) the op that made the first non-finite value. In checked mode
// (`kilnc --check-numerics`) every public function tests each float value
// that can become non-finite on its own: its float arguments and the results
// of every op except those that only move, select or compare values (which
// cannot turn finite inputs into NaN or Inf, so the first value flagged in
// program order is the true producer). The lowest flagged site id is
// stored into the state slot `kiln.numerics.first_nonfinite` (i32, 0 when
// every value is finite); the module attribute `kiln.numerics_sites` maps
// id - 1 to "file:line:col op (role, parameter)", and the C header carries
// the same table. The checks are kiln ops, so the interpreter and every
// target run them; no printf, no libc.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Path.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCHECKNUMERICS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
constexpr llvm::StringLiteral kSlotName = "kiln.numerics.first_nonfinite";

/// Ops that cannot make a non-finite value out of finite operands: layout,
/// selection, comparison, sign and random initialisation. Checking them would
/// only repeat (and cost) the check of their producer.
bool onlyMovesValues(Operation *op) {
  return isa<ConstantOp, ReshapeOp, TransposeOp, BroadcastToOp, StopGradientOp,
             SelectOp, CompareOp, NegOp, AbsOp, ReluOp, MaximumOp, MinimumOp,
             ReduceMaxOp, OneHotOp, SliceOp, ConcatOp, GatherOp, TopKOp,
             MaxPool2DOp, RandomUniformOp, RandomNormalOp>(op);
}

bool isFloatTensor(Value v) {
  auto type = v.getType().dyn_cast<RankedTensorType>();
  return type && type.getElementType().isa<FloatType>();
}

/// The strings of `attrName` on `fn` (kiln.state_args, ...; empty if absent).
SmallVector<StringRef> namesOf(func::FuncOp fn, StringRef attrName) {
  SmallVector<StringRef> names;
  if (auto array = fn->getAttrOfType<ArrayAttr>(attrName))
    for (Attribute a : array)
      names.push_back(a.cast<StringAttr>().getValue());
  return names;
}

/// Instruments one function; `sites` collects the module's site texts.
class FunctionChecker {
public:
  FunctionChecker(func::FuncOp fn, SmallVector<std::string> &sites)
      : fn(fn), sites(sites), block(fn.getBody().front()) {
    stateArgs = namesOf(fn, KilnDialect::getStateArgsAttrName());
    stateResults = namesOf(fn, KilnDialect::getStateResultsAttrName());
  }

  void run();

private:
  /// The state argument `v` is, through layout ops ("" if none).
  StringRef parameterBehind(Value v) const;
  /// Role of `op` for the report: forward, backward or an update.
  std::string roleOf(Operation *op) const;
  /// Appends "bad(v) = any(v - v != 0)" after `after` (or at the block's
  /// start) as an f32 0/1 scalar, with a new site id.
  void check(Value v, Operation *after, std::string site);

  func::FuncOp fn;
  SmallVector<std::string> &sites;
  Block &block;
  SmallVector<StringRef> stateArgs, stateResults;
  llvm::DenseSet<Operation *> forward;
  /// (site id, its 0/1 flag) in program order.
  SmallVector<std::pair<int64_t, Value>> flags;
};

StringRef FunctionChecker::parameterBehind(Value v) const {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<ReshapeOp, TransposeOp, BroadcastToOp, StopGradientOp>(def))
      return "";
    v = def->getOperand(0);
  }
  auto arg = v.cast<BlockArgument>();
  return arg.getArgNumber() < stateArgs.size() ? stateArgs[arg.getArgNumber()]
                                               : "";
}

std::string FunctionChecker::roleOf(Operation *op) const {
  if (forward.contains(op))
    return "forward";
  auto ret = cast<func::ReturnOp>(block.getTerminator());
  for (OpOperand &use : op->getUses())
    if (use.getOwner() == ret && use.getOperandNumber() < stateResults.size() &&
        !stateResults[use.getOperandNumber()].empty())
      return ("update of " + stateResults[use.getOperandNumber()]).str();
  // Gradients and the optimizer's intermediate values.
  return forward.empty() ? "" : "backward";
}

void FunctionChecker::check(Value v, Operation *after, std::string site) {
  OpBuilder b(fn.getContext());
  if (after)
    b.setInsertionPointAfter(after);
  else
    b.setInsertionPointToStart(&block);
  Location loc = v.getLoc();
  auto type = v.getType().cast<RankedTensorType>();
  Type f32 = b.getF32Type();
  auto scalarOf = [&](Type element, double value) -> Value {
    auto scalarType = RankedTensorType::get({}, element);
    return b.create<ConstantOp>(
        loc, scalarType,
        DenseElementsAttr::get(scalarType, b.getFloatAttr(element, value)));
  };
  // v - v is 0 for a finite v and NaN for NaN or +-Inf; `ne` is unordered.
  Value difference = b.create<SubOp>(loc, v, v);
  Value bad = b.create<CompareOp>(loc, "ne", difference,
                                  scalarOf(type.getElementType(), 0.0));
  if (type.getRank() > 0) {
    SmallVector<int64_t> axes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      axes.push_back(d);
    bad = b.create<ReduceMaxOp>(loc, bad, axes, /*keepdims=*/false);
  }
  if (!type.getElementType().isF32())
    bad = b.create<CastOp>(loc, RankedTensorType::get({}, f32), bad);
  sites.push_back(std::move(site));
  flags.push_back({int64_t(sites.size()), bad});
}

void FunctionChecker::run() {
  auto ret = cast<func::ReturnOp>(block.getTerminator());
  // Forward: what the plain (non-state) results, e.g. the loss, depend on.
  SmallVector<Value> worklist;
  for (auto [i, v] : llvm::enumerate(ret.getOperands()))
    if (i >= stateResults.size() || stateResults[i].empty())
      worklist.push_back(v);
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (def && forward.insert(def).second)
      worklist.append(def->operand_begin(), def->operand_end());
  }

  // The ops to check, collected before any check is inserted.
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    if (!onlyMovesValues(&op) && llvm::any_of(op.getResults(), isFloatTensor))
      ops.push_back(&op);

  // Plain inputs are named as in the C header's prototype (in0, in1, ...).
  std::string fnName = fn.getName().str();
  int64_t plainInputs = 0;
  for (BlockArgument arg : block.getArguments()) {
    StringRef state = arg.getArgNumber() < stateArgs.size()
                          ? stateArgs[arg.getArgNumber()]
                          : "";
    std::string site =
        state.empty()
            ? "input in" + std::to_string(plainInputs++) + " of " + fnName
            : ("state " + state + " on entry to " + fnName).str();
    if (isFloatTensor(arg))
      check(arg, nullptr, site);
  }
  for (Operation *op : ops) {
    std::string detail = roleOf(op);
    // The first parameter among the operands; an update names its own.
    if (!StringRef(detail).startswith("update of "))
      for (Value operand : op->getOperands()) {
        StringRef parameter = parameterBehind(operand);
        if (!parameter.empty()) {
          detail += (detail.empty() ? "" : ", ") + parameter.str();
          break;
        }
      }
    std::string site = sourceOf(op->getLoc()) + " " +
                       op->getName().getStringRef().str() +
                       (detail.empty() ? "" : " (" + detail + ")");
    for (Value result : op->getResults())
      if (isFloatTensor(result))
        check(result, op, site);
  }

  // The lowest flagged id wins: fold from the last site to the first.
  OpBuilder b(ret);
  Location loc = fn.getLoc();
  auto f32Scalar = RankedTensorType::get({}, b.getF32Type());
  auto constant = [&](double value) -> Value {
    return b.create<ConstantOp>(
        loc, f32Scalar,
        DenseElementsAttr::get(f32Scalar, b.getF32FloatAttr(value)));
  };
  Value first = constant(0.0);
  for (auto &[id, flag] : llvm::reverse(flags))
    first = b.create<SelectOp>(loc, flag, constant(double(id)), first);
  Value slot = b.create<CastOp>(
      loc, RankedTensorType::get({}, b.getI32Type()), first);

  // The slot is a state result, marked an observation: each call stores
  // it for the caller, checkpoints leave it out.
  SmallVector<Value> results(ret.getOperands());
  results.push_back(slot);
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  fn.setType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(),
                               ValueRange(results).getTypes()));
  Builder attrs(fn.getContext());
  SmallVector<StringRef> resultNames(stateResults);
  resultNames.resize(results.size() - 1, "");
  resultNames.push_back(kSlotName);
  SmallVector<StringRef> argNames(stateArgs);
  argNames.resize(fn.getNumArguments(), "");
  fn->setAttr(KilnDialect::getStateArgsAttrName(),
              attrs.getStrArrayAttr(argNames));
  fn->setAttr(KilnDialect::getStateResultsAttrName(),
              attrs.getStrArrayAttr(resultNames));
  SmallVector<StringRef> observed =
      namesOf(fn, KilnDialect::getObservationsAttrName());
  observed.push_back(kSlotName);
  fn->setAttr(KilnDialect::getObservationsAttrName(),
              attrs.getStrArrayAttr(observed));
}

struct KilnCheckNumericsPass
    : public kiln::impl::KilnCheckNumericsBase<KilnCheckNumericsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (module->hasAttr(KilnDialect::getNumericsSitesAttrName()))
      return; // Already instrumented.
    SmallVector<std::string> sites;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal() || fn.isPrivate())
        continue;
      if (!fn.getBody().hasOneBlock()) {
        fn.emitError("kiln-check-numerics expects a single-block body");
        return signalPassFailure();
      }
      FunctionChecker(fn, sites).run();
    }
    SmallVector<StringRef> texts(sites.begin(), sites.end());
    module->setAttr(KilnDialect::getNumericsSitesAttrName(),
                    Builder(module.getContext()).getStrArrayAttr(texts));
  }
};
} // namespace

std::string kiln::sourceOf(Location loc) {
  std::string text = "<unknown>";
  loc->walk([&](Location inner) {
    if (auto file = inner.dyn_cast<FileLineColLoc>()) {
      text = (llvm::sys::path::filename(file.getFilename().getValue()) + ":" +
              Twine(file.getLine()) + ":" + Twine(file.getColumn()))
                 .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return text;
}
