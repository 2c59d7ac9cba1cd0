//===- StaticMemoryPlan.cpp - one arena, offsets known at compile time ----===//
//
// Embedded targets have no heap worth the name, and a training step that
// calls malloc is slow everywhere. After bufferization every buffer has a
// static size, so the whole memory of a function can be planned here:
//
//   [ model state (parameters, optimizer buffers) | scratch ]
//
// State keeps fixed offsets shared by every function of the module (init,
// train step, predict see the same parameters). Scratch buffers share space
// when their live ranges (in top-level op order) do not overlap. Each
// function then takes the arena as its first argument and never allocates.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_KILNSTATICMEMORYPLAN
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
constexpr int64_t kAlignment = 64;

/// Byte counts are checked against the target's address space: a model on
/// tensor<99999999999x99999999999xf32> must be an error, not an arena whose
/// size wrapped around (and code that writes far past it).
class ByteLimit {
public:
  explicit ByteLimit(unsigned pointerBits)
      : pointerBits(std::min(pointerBits, 64u)),
        max(pointerBits >= 64 ? std::numeric_limits<int64_t>::max()
                              : (int64_t(1) << (pointerBits - 1)) - 1) {}

  /// `bytes` rounded up to the alignment, if that stays addressable.
  std::optional<int64_t> alignUp(int64_t bytes) const {
    std::optional<int64_t> padded = llvm::checkedAdd(bytes, kAlignment - 1);
    if (!padded)
      return std::nullopt;
    return check(*padded / kAlignment * kAlignment);
  }
  std::optional<int64_t> add(int64_t a, int64_t b) const {
    std::optional<int64_t> sum = llvm::checkedAdd(a, b);
    return sum ? check(*sum) : std::nullopt;
  }
  /// The bytes of a static memref, aligned: what it takes in the arena.
  std::optional<int64_t> bufferBytes(MemRefType type) const {
    std::optional<int64_t> bytes =
        int64_t((type.getElementTypeBitWidth() + 7) / 8);
    for (int64_t dim : type.getShape())
      if (bytes)
        bytes = llvm::checkedMul(*bytes, dim);
    return bytes ? alignUp(*bytes) : std::nullopt;
  }
  /// Error on `op`: what `parts` describe (a buffer, a sum of buffers)
  /// does not fit.
  template <typename... Parts>
  LogicalResult tooLarge(Operation *op, const Parts &...parts) const {
    InFlightDiagnostic diag = op->emitError();
    (diag << ... << parts);
    diag << " does not fit the " << pointerBits
         << "-bit address space of the target (at most " << max << " bytes)";
    return diag;
  }

private:
  std::optional<int64_t> check(int64_t bytes) const {
    if (bytes > max)
      return std::nullopt;
    return bytes;
  }
  unsigned pointerBits;
  int64_t max;
};

/// The state name of each entry of `attrName` (an array of strings, "" for
/// a non-state entry), or an empty list when the attribute is absent.
SmallVector<StringRef> stateNames(func::FuncOp fn, StringRef attrName) {
  SmallVector<StringRef> names;
  if (auto array = fn->getAttrOfType<ArrayAttr>(attrName))
    for (Attribute a : array)
      names.push_back(a.cast<StringAttr>().getValue());
  return names;
}

struct ScratchBuffer {
  memref::AllocOp alloc;
  int64_t bytes; ///< aligned
  int64_t first, last, offset = -1;
};

/// The index of the top-level op in `block` that contains `op`.
int64_t topLevelPosition(Operation *op, Block &block,
                         const llvm::DenseMap<Operation *, int64_t> &position) {
  Operation *ancestor = block.findAncestorOpInBlock(*op);
  return position.lookup(ancestor);
}

/// The op that first uses `value` (by position in `block`), to point an
/// error at the user's model; the parent function when nothing uses it.
Operation *firstUser(Value value, Block &block) {
  Operation *first = nullptr, *firstTop = nullptr;
  for (Operation *user : value.getUsers()) {
    Operation *top = block.findAncestorOpInBlock(*user);
    if (top && (!firstTop || top->isBeforeInBlock(firstTop))) {
      first = user;
      firstTop = top;
    }
  }
  return first ? first : block.getParentOp();
}

/// First and last top-level positions where `value` or a view of it is
/// used, other than by views ({-1, -1} if nowhere).
std::pair<int64_t, int64_t>
useRange(Value value, Block &block,
         const llvm::DenseMap<Operation *, int64_t> &position) {
  int64_t first = -1, last = -1;
  SmallVector<Value> worklist{value};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v) {
          worklist.append(user->result_begin(), user->result_end());
          continue;
        }
      int64_t at = topLevelPosition(user, block, position);
      first = first < 0 ? at : std::min(first, at);
      last = std::max(last, at);
    }
  }
  return {first, last};
}

/// First-fit placement, biggest buffers first: a buffer may share bytes only
/// with buffers whose live ranges do not overlap its own. Returns the
/// buffer whose end would not be addressable, if any; else `total` is the
/// scratch size.
ScratchBuffer *placeScratch(MutableArrayRef<ScratchBuffer> buffers,
                            const ByteLimit &limit, int64_t &total) {
  SmallVector<ScratchBuffer *> order;
  for (ScratchBuffer &b : buffers)
    order.push_back(&b);
  llvm::stable_sort(order, [](ScratchBuffer *a, ScratchBuffer *b) {
    return a->bytes > b->bytes;
  });
  total = 0;
  SmallVector<ScratchBuffer *> placed;
  for (ScratchBuffer *buffer : order) {
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (ScratchBuffer *other : placed)
      if (other->first <= buffer->last && buffer->first <= other->last)
        busy.push_back({other->offset, other->offset + other->bytes});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (buffer->bytes <= begin - offset)
        break;
      offset = std::max(offset, end);
    }
    std::optional<int64_t> end = limit.add(offset, buffer->bytes);
    if (!end)
      return buffer;
    buffer->offset = offset;
    total = std::max(total, *end);
    placed.push_back(buffer);
  }
  return nullptr;
}

/// The buffer `value` views (through subviews, casts, reshapes).
Value rootBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Whether `visit` holds for every use of `root` and of the views made of
/// it (the view ops themselves are not visited); stops at the first use it
/// rejects.
bool allUsesThroughViews(Value root,
                         llvm::function_ref<bool(OpOperand &)> visit) {
  SmallVector<Value> worklist{root};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<ViewLikeOpInterface>(user))
        worklist.append(user->result_begin(), user->result_end());
      else if (!visit(use))
        return false;
    }
  }
  return true;
}

/// True when some state argument is still read (directly or through a
/// view) at or after the first top-level op that touches `out`.
bool stateReadAfterFirstWrite(Block &block, Value out,
                              const llvm::StringMap<Value> &stateArg) {
  Operation *firstWrite = nullptr;
  for (Operation *user : out.getUsers()) {
    Operation *top = block.findAncestorOpInBlock(*user);
    if (!firstWrite || top->isBeforeInBlock(firstWrite))
      firstWrite = top;
  }
  for (const auto &entry : stateArg)
    if (!allUsesThroughViews(entry.second, [&](OpOperand &use) {
          Operation *top = block.findAncestorOpInBlock(*use.getOwner());
          return top != firstWrite && !firstWrite->isBeforeInBlock(top);
        }))
      return true;
  return false;
}

/// Whether `copy` (a new state, computed into scratch, onto its state
/// out-parameter) can go: the one op that computes the scratch buffer may
/// write the state slot itself when it is an all-parallel linalg op that
/// reads the old state only at the element it writes, and nothing reads the
/// old state after it. SGD's and Adam's updates have that form; writing
/// them in place saves a pass over every parameter per step and a scratch
/// buffer as large as the state.
bool writesStateInPlace(Block &block, memref::CopyOp copy, Value oldState) {
  Value scratch = copy.getSource();
  if (!scratch.getDefiningOp<memref::AllocOp>())
    return false;
  linalg::GenericOp writer;
  for (OpOperand &use : scratch.getUses()) {
    auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
    if (!generic || generic->getBlock() != &block || !generic.isDpsInit(&use))
      continue;
    if (writer || generic.payloadUsesValueFromOperand(&use))
      return false;
    writer = generic;
  }
  if (!writer || writer.getNumReductionLoops() != 0)
    return false;
  AffineMap written = writer.getMatchingIndexingMap(*llvm::find_if(
      writer.getDpsInitOperands(),
      [&](OpOperand *init) { return init->get() == scratch; }));
  if (!written.isPermutation())
    return false;
  // Before the writer, the scratch buffer is only allocated; after it,
  // any op may read the new state.
  for (Operation *user : scratch.getUsers()) {
    Operation *top = block.findAncestorOpInBlock(*user);
    if (user != writer && !isa<memref::DeallocOp>(user) &&
        (!top || top->isBeforeInBlock(writer) ||
         isa<ViewLikeOpInterface>(user)))
      return false;
  }
  // The old state (if the function takes it): read before the writer, or
  // by it at the same element.
  return !oldState || allUsesThroughViews(oldState, [&](OpOperand &use) {
    Operation *user = use.getOwner();
    Operation *top = block.findAncestorOpInBlock(*user);
    if (!top)
      return false;
    if (top->isBeforeInBlock(writer))
      return true;
    // Through a view, the element read is not the one written.
    return user == writer && use.get() == oldState &&
           writer.isDpsInput(&use) &&
           writer.getMatchingIndexingMap(&use) == written;
  });
}

/// A state argument and the out-parameter of the same name share one arena
/// slot, while bufferization treated them as separate buffers. Writing the
/// new state must therefore come after every read of the old one: each
/// state write (the copy into a state out-parameter) moves to the end of the
/// function, and one whose source is itself an argument (a swap, returning
/// an old state as new) first goes through a scratch copy made before any
/// state is written. A write of a state onto its own slot (an in-place
/// update) disappears, and so does one whose scratch source can be written
/// in place (writesStateInPlace).
LogicalResult orderStateWrites(func::FuncOp fn, ArrayRef<StringRef> argNames,
                               ArrayRef<StringRef> resultNames) {
  Block &block = fn.getBody().front();
  llvm::StringMap<Value> stateArg;
  for (auto [name, arg] : llvm::zip(argNames, block.getArguments()))
    if (!name.empty())
      stateArg[name] = arg;
  SmallVector<memref::CopyOp> writes;
  for (auto [i, name] : llvm::enumerate(resultNames)) {
    if (name.empty())
      continue;
    BlockArgument out = block.getArgument(argNames.size() + i);
    auto copy = out.hasOneUse()
                    ? dyn_cast<memref::CopyOp>(*out.getUsers().begin())
                    : memref::CopyOp();
    if (!copy || copy.getTarget() != out) {
      if (out.use_empty() || !stateReadAfterFirstWrite(block, out, stateArg))
        continue;
      // Written some other way (stores, a linalg op): compute into scratch,
      // then write the state once at the end like the copies.
      auto type = out.getType().cast<MemRefType>();
      OpBuilder atStart = OpBuilder::atBlockBegin(&block);
      Value temp = atStart.create<memref::AllocOp>(
          fn.getLoc(), MemRefType::get(type.getShape(), type.getElementType()));
      out.replaceAllUsesWith(temp);
      OpBuilder atEnd(block.getTerminator());
      writes.push_back(atEnd.create<memref::CopyOp>(fn.getLoc(), temp, out));
      continue;
    }
    if (rootBuffer(copy.getSource()) == stateArg.lookup(name)) {
      copy.erase();
    } else if (writesStateInPlace(block, copy, stateArg.lookup(name))) {
      Value scratch = copy.getSource();
      Operation *alloc = scratch.getDefiningOp();
      copy.erase();
      for (Operation *user : llvm::make_early_inc_range(scratch.getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      scratch.replaceAllUsesWith(out);
      alloc->erase();
    } else {
      writes.push_back(copy);
    }
  }
  if (writes.empty())
    return success();
  Operation *terminator = block.getTerminator();
  Operation *firstWrite = writes.front();
  for (memref::CopyOp write : writes)
    if (write->isBeforeInBlock(firstWrite))
      firstWrite = write;
  OpBuilder builder(firstWrite);
  for (memref::CopyOp write : writes) {
    if (rootBuffer(write.getSource()).isa<BlockArgument>()) {
      auto type = write.getSource().getType().cast<MemRefType>();
      Value temp = builder.create<memref::AllocOp>(
          write.getLoc(), MemRefType::get(type.getShape(),
                                          type.getElementType()));
      builder.create<memref::CopyOp>(write.getLoc(), write.getSource(), temp);
      write.getSourceMutable().assign(temp);
    }
  }
  for (memref::CopyOp write : writes)
    write->moveBefore(terminator);
  return success();
}

struct StaticMemoryPlanPass
    : public kiln::impl::KilnStaticMemoryPlanBase<StaticMemoryPlanPass> {
  using KilnStaticMemoryPlanBase::KilnStaticMemoryPlanBase;
  void runOnOperation() override;

private:
  LogicalResult planFunction(func::FuncOp fn, const ByteLimit &limit,
                             int64_t &scratchBytes);
  void rewriteFunction(func::FuncOp fn, int64_t arenaBytes);
  void recordFunctionPlan(func::FuncOp fn, int64_t scratchBytes);

  llvm::MapVector<StringRef, std::pair<int64_t, MemRefType>> stateLayout;
  int64_t stateBytes = 0;
  llvm::DenseMap<func::FuncOp, SmallVector<ScratchBuffer>> scratch;
};

LogicalResult StaticMemoryPlanPass::planFunction(func::FuncOp fn,
                                                 const ByteLimit &limit,
                                                 int64_t &scratchBytes) {
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("kiln-static-memory-plan expects a single-block body");
  Block &block = fn.getBody().front();

  // State buffers: arguments named in kiln.state_args, and out-parameters
  // (former results) named in kiln.state_results.
  SmallVector<StringRef> argNames =
      stateNames(fn, kiln::KilnDialect::getStateArgsAttrName());
  SmallVector<StringRef> resultNames =
      stateNames(fn, kiln::KilnDialect::getStateResultsAttrName());
  SmallVector<StringRef> allNames(argNames);
  allNames.append(resultNames);
  if (!allNames.empty() && allNames.size() != fn.getNumArguments())
    return fn.emitError("kiln.state_args/kiln.state_results cover ")
           << allNames.size() << " buffers but the function has "
           << fn.getNumArguments() << " arguments after bufferization";
  // Inputs and outputs live in the caller's memory, yet the code indexes
  // them with the target's pointers too.
  for (BlockArgument arg : block.getArguments()) {
    auto type = arg.getType().dyn_cast<MemRefType>();
    if (type && type.hasStaticShape() && !limit.bufferBytes(type))
      return limit.tooLarge(firstUser(arg, block), "argument #",
                            arg.getArgNumber(), " of type ", type);
  }
  for (auto [name, arg] : llvm::zip(allNames, block.getArguments())) {
    if (name.empty())
      continue;
    auto type = arg.getType().dyn_cast<MemRefType>();
    if (!type || !type.hasStaticShape())
      return fn.emitError("state '") << name << "' must be a static memref";
    auto [it, inserted] = stateLayout.insert({name, {stateBytes, type}});
    if (inserted) {
      std::optional<int64_t> end =
          limit.add(stateBytes, *limit.bufferBytes(type));
      if (!end)
        return limit.tooLarge(firstUser(arg, block), "the model state (",
                              stateLayout.size(), " buffers, the last '",
                              name, "')");
      stateBytes = *end;
    } else if (it->second.second != type)
      return fn.emitError("state '")
             << name << "' has type " << type << " here but "
             << it->second.second << " elsewhere";
  }

  if (failed(orderStateWrites(fn, argNames, resultNames)))
    return failure();

  llvm::DenseMap<Operation *, int64_t> position;
  int64_t index = 0;
  for (Operation &op : block)
    position[&op] = index++;
  SmallVector<ScratchBuffer> &buffers = scratch[fn];
  WalkResult walk = fn.walk([&](memref::AllocOp alloc) {
    if (!alloc.getType().hasStaticShape() ||
        !alloc.getType().getLayout().isIdentity()) {
      alloc.emitError("kiln-static-memory-plan needs a static, identity-"
                      "layout buffer, got ")
          << alloc.getType();
      return WalkResult::interrupt();
    }
    // A buffer is live from its first use, not from its alloc: CSE merges
    // the identical tensor.empty ops of repeated code (micro-batches), so
    // bufferization puts their allocs at the first occurrence.
    std::optional<int64_t> bytes = limit.bufferBytes(alloc.getType());
    if (!bytes) {
      (void)limit.tooLarge(alloc, "a buffer of type ", alloc.getType());
      return WalkResult::interrupt();
    }
    int64_t at = topLevelPosition(alloc, block, position);
    auto [firstUse, lastUse] = useRange(alloc, block, position);
    int64_t first = firstUse < 0 ? at : firstUse;
    int64_t last = std::max(first, lastUse);
    buffers.push_back({alloc, *bytes, first, last});
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (ScratchBuffer *unplaced = placeScratch(buffers, limit, scratchBytes))
    return limit.tooLarge(unplaced->alloc, "the scratch memory of '",
                          fn.getName(), "' (", buffers.size(), " buffers)");
  return success();
}

void StaticMemoryPlanPass::rewriteFunction(func::FuncOp fn,
                                           int64_t arenaBytes) {
  Block &block = fn.getBody().front();
  auto arenaType =
      MemRefType::get({arenaBytes}, IntegerType::get(fn.getContext(), 8));
  BlockArgument arena = block.insertArgument(0u, arenaType, fn.getLoc());
  OpBuilder builder = OpBuilder::atBlockBegin(&block);

  auto viewAt = [&](int64_t offset, MemRefType type, Location loc) -> Value {
    Value byteShift = builder.create<arith::ConstantIndexOp>(loc, offset);
    return builder.create<memref::ViewOp>(loc, type, arena, byteShift,
                                          ValueRange{});
  };

  SmallVector<StringRef> allNames =
      stateNames(fn, kiln::KilnDialect::getStateArgsAttrName());
  allNames.append(stateNames(fn, kiln::KilnDialect::getStateResultsAttrName()));
  llvm::BitVector erased(block.getNumArguments());
  for (auto [i, name] : llvm::enumerate(allNames)) {
    if (name.empty())
      continue;
    BlockArgument arg = block.getArgument(i + 1);
    auto [offset, type] = stateLayout.lookup(name);
    arg.replaceAllUsesWith(viewAt(offset, type, fn.getLoc()));
    erased.set(i + 1);
  }
  for (ScratchBuffer &buffer : scratch[fn]) {
    builder.setInsertionPoint(buffer.alloc);
    Value view = viewAt(stateBytes + buffer.offset, buffer.alloc.getType(),
                        buffer.alloc.getLoc());
    buffer.alloc.replaceAllUsesWith(view);
    buffer.alloc.erase();
  }
  fn.walk([](memref::DeallocOp dealloc) { dealloc.erase(); });
  block.eraseArguments(erased);
  fn.setType(FunctionType::get(fn.getContext(), block.getArgumentTypes(),
                               fn.getResultTypes()));
  SmallVector<StringRef> resultNames =
      stateNames(fn, kiln::KilnDialect::getStateResultsAttrName());
  int64_t outputs = llvm::count(resultNames, StringRef());
  fn->setAttr(kiln::KilnDialect::getNumOutputsAttrName(),
              IntegerAttr::get(IntegerType::get(fn.getContext(), 64), outputs));
  fn->removeAttr(kiln::KilnDialect::getStateArgsAttrName());
  fn->removeAttr(kiln::KilnDialect::getStateResultsAttrName());
}

/// The plan of `fn`'s scratch as `kiln.memory_plan` (one dictionary per
/// buffer, in placement-independent alloc order) and `kiln.scratch_bytes`:
/// what the driver's memory report and budget read, so that sizes, offsets
/// and live ranges have one definition, this pass's.
void StaticMemoryPlanPass::recordFunctionPlan(func::FuncOp fn,
                                              int64_t scratchBytes) {
  Block &block = fn.getBody().front();
  SmallVector<Operation *> topLevel;
  for (Operation &op : block)
    topLevel.push_back(&op);
  Builder b(fn.getContext());
  auto opName = [&](int64_t at) {
    return b.getStringAttr(topLevel[at]->getName().getStringRef());
  };
  SmallVector<Attribute> buffers;
  for (ScratchBuffer &buffer : scratch[fn]) {
    // The alloc carries the location of the op it was made for, unless
    // bufferization made it without one: then the op that first uses it.
    std::string source = kiln::sourceOf(buffer.alloc.getLoc());
    if (source == "<unknown>")
      source = kiln::sourceOf(firstUser(buffer.alloc, block)->getLoc());
    buffers.push_back(b.getDictionaryAttr({
        b.getNamedAttr("offset",
                       b.getI64IntegerAttr(stateBytes + buffer.offset)),
        b.getNamedAttr("bytes", b.getI64IntegerAttr(buffer.bytes)),
        b.getNamedAttr("first", b.getI64IntegerAttr(buffer.first)),
        b.getNamedAttr("last", b.getI64IntegerAttr(buffer.last)),
        b.getNamedAttr("first_op", opName(buffer.first)),
        b.getNamedAttr("last_op", opName(buffer.last)),
        b.getNamedAttr("type", TypeAttr::get(buffer.alloc.getType())),
        b.getNamedAttr("source", b.getStringAttr(source)),
    }));
  }
  fn->setAttr(kiln::KilnDialect::getMemoryPlanAttrName(), b.getArrayAttr(buffers));
  fn->setAttr(kiln::KilnDialect::getScratchBytesAttrName(), b.getI64IntegerAttr(scratchBytes));
}

void StaticMemoryPlanPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<func::FuncOp> functions;
  for (auto fn : module.getOps<func::FuncOp>())
    if (!fn.isExternal())
      functions.push_back(fn);

  ByteLimit limit(pointerBits);
  int64_t maxScratch = 0;
  llvm::DenseMap<func::FuncOp, int64_t> scratchBytes;
  for (func::FuncOp fn : functions) {
    int64_t bytes = 0;
    if (failed(planFunction(fn, limit, bytes)))
      return signalPassFailure();
    scratchBytes[fn] = bytes;
    if (!limit.add(stateBytes, bytes)) {
      (void)limit.tooLarge(fn, "the arena (model state and the scratch "
                               "memory of '", fn.getName(), "')");
      return signalPassFailure();
    }
    maxScratch = std::max(maxScratch, bytes);
  }
  // One arena type for every function, so any of them can run on the same
  // arena; at least one byte so the memref type is valid.
  int64_t arenaBytes = std::max<int64_t>(stateBytes + maxScratch, 1);
  for (func::FuncOp fn : functions) {
    if (recordPlan)
      recordFunctionPlan(fn, scratchBytes.lookup(fn));
    rewriteFunction(fn, arenaBytes);
  }

  // Observations (values a step stores for the caller to read, see the
  // DSL's hooks.h) are state like any other, marked so that checkpoints
  // leave them out.
  llvm::StringSet<> observations;
  for (func::FuncOp fn : functions) {
    for (StringRef name :
         stateNames(fn, kiln::KilnDialect::getObservationsAttrName()))
      observations.insert(name);
    fn->removeAttr(kiln::KilnDialect::getObservationsAttrName());
  }
  Builder b(module.getContext());
  SmallVector<Attribute> layout;
  for (auto &[name, entry] : stateLayout) {
    SmallVector<NamedAttribute> fields = {
        b.getNamedAttr("name", b.getStringAttr(name)),
        b.getNamedAttr("offset", b.getI64IntegerAttr(entry.first)),
        b.getNamedAttr("type", TypeAttr::get(entry.second))};
    if (observations.contains(name))
      fields.push_back(b.getNamedAttr("observation", b.getUnitAttr()));
    layout.push_back(b.getDictionaryAttr(fields));
  }
  module->setAttr(kiln::KilnDialect::getStateLayoutAttrName(),
                  b.getArrayAttr(layout));
  module->setAttr(kiln::KilnDialect::getStateBytesAttrName(),
                  b.getI64IntegerAttr(stateBytes));
  module->setAttr(kiln::KilnDialect::getArenaBytesAttrName(),
                  b.getI64IntegerAttr(arenaBytes));
}
} // namespace
