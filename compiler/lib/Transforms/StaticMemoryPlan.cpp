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

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSTATICMEMORYPLAN
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
constexpr int64_t kAlignment = 64;

int64_t alignUp(int64_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

int64_t bufferBytes(MemRefType type) {
  return type.getNumElements() *
         static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8);
}

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
  int64_t bytes, first, last, offset = -1;
};

/// The index of the top-level op in `block` that contains `op`.
int64_t topLevelPosition(Operation *op, Block &block,
                         const llvm::DenseMap<Operation *, int64_t> &position) {
  Operation *ancestor = block.findAncestorOpInBlock(*op);
  return position.lookup(ancestor);
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
/// with buffers whose live ranges do not overlap its own.
int64_t placeScratch(MutableArrayRef<ScratchBuffer> buffers) {
  SmallVector<ScratchBuffer *> order;
  for (ScratchBuffer &b : buffers)
    order.push_back(&b);
  llvm::stable_sort(order, [](ScratchBuffer *a, ScratchBuffer *b) {
    return a->bytes > b->bytes;
  });
  int64_t total = 0;
  SmallVector<ScratchBuffer *> placed;
  for (ScratchBuffer *buffer : order) {
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (ScratchBuffer *other : placed)
      if (other->first <= buffer->last && buffer->first <= other->last)
        busy.push_back({other->offset, other->offset + alignUp(other->bytes)});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + alignUp(buffer->bytes) <= begin)
        break;
      offset = std::max(offset, end);
    }
    buffer->offset = offset;
    total = std::max(total, offset + alignUp(buffer->bytes));
    placed.push_back(buffer);
  }
  return total;
}

/// The buffer `value` views (through subviews, casts, reshapes).
Value rootBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
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
  for (const auto &entry : stateArg) {
    SmallVector<Value> worklist{entry.second};
    while (!worklist.empty()) {
      Value v = worklist.pop_back_val();
      for (Operation *user : v.getUsers()) {
        Operation *top = block.findAncestorOpInBlock(*user);
        if (top == firstWrite || firstWrite->isBeforeInBlock(top))
          return true;
        if (auto view = dyn_cast<ViewLikeOpInterface>(user))
          worklist.append(user->result_begin(), user->result_end());
      }
    }
  }
  return false;
}

/// A state argument and the out-parameter of the same name share one arena
/// slot, while bufferization treated them as separate buffers. Writing the
/// new state must therefore come after every read of the old one: each
/// state write (the copy into a state out-parameter) moves to the end of the
/// function, and one whose source is itself an argument (a swap, returning
/// an old state as new) first goes through a scratch copy made before any
/// state is written. A write of a state onto its own slot (an in-place
/// update) disappears.
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
    if (rootBuffer(copy.getSource()) == stateArg.lookup(name))
      copy.erase();
    else
      writes.push_back(copy);
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
  void runOnOperation() override;

private:
  LogicalResult planFunction(func::FuncOp fn, int64_t &scratchBytes);
  void rewriteFunction(func::FuncOp fn, int64_t arenaBytes);

  llvm::MapVector<StringRef, std::pair<int64_t, MemRefType>> stateLayout;
  int64_t stateBytes = 0;
  llvm::DenseMap<func::FuncOp, SmallVector<ScratchBuffer>> scratch;
};

LogicalResult StaticMemoryPlanPass::planFunction(func::FuncOp fn,
                                                 int64_t &scratchBytes) {
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("kiln-static-memory-plan expects a single-block body");
  Block &block = fn.getBody().front();

  // State buffers: arguments named in kiln.state_args, and out-parameters
  // (former results) named in kiln.state_results.
  SmallVector<StringRef> argNames = stateNames(fn, "kiln.state_args");
  SmallVector<StringRef> resultNames = stateNames(fn, "kiln.state_results");
  SmallVector<StringRef> allNames(argNames);
  allNames.append(resultNames);
  if (!allNames.empty() && allNames.size() != fn.getNumArguments())
    return fn.emitError("kiln.state_args/kiln.state_results cover ")
           << allNames.size() << " buffers but the function has "
           << fn.getNumArguments() << " arguments after bufferization";
  for (auto [name, arg] : llvm::zip(allNames, block.getArguments())) {
    if (name.empty())
      continue;
    auto type = arg.getType().dyn_cast<MemRefType>();
    if (!type || !type.hasStaticShape())
      return fn.emitError("state '") << name << "' must be a static memref";
    auto [it, inserted] = stateLayout.insert({name, {stateBytes, type}});
    if (inserted)
      stateBytes += alignUp(bufferBytes(type));
    else if (it->second.second != type)
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
    int64_t at = topLevelPosition(alloc, block, position);
    auto [firstUse, lastUse] = useRange(alloc, block, position);
    int64_t first = firstUse < 0 ? at : firstUse;
    int64_t last = std::max(first, lastUse);
    buffers.push_back({alloc, bufferBytes(alloc.getType()), first, last});
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  scratchBytes = placeScratch(buffers);
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

  SmallVector<StringRef> allNames = stateNames(fn, "kiln.state_args");
  allNames.append(stateNames(fn, "kiln.state_results"));
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
  SmallVector<StringRef> resultNames = stateNames(fn, "kiln.state_results");
  int64_t outputs = llvm::count(resultNames, StringRef());
  fn->setAttr("kiln.num_outputs",
              IntegerAttr::get(IntegerType::get(fn.getContext(), 64), outputs));
  fn->removeAttr("kiln.state_args");
  fn->removeAttr("kiln.state_results");
}

void StaticMemoryPlanPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<func::FuncOp> functions;
  for (auto fn : module.getOps<func::FuncOp>())
    if (!fn.isExternal())
      functions.push_back(fn);

  int64_t maxScratch = 0;
  for (func::FuncOp fn : functions) {
    int64_t bytes = 0;
    if (failed(planFunction(fn, bytes)))
      return signalPassFailure();
    maxScratch = std::max(maxScratch, bytes);
  }
  // One arena type for every function, so any of them can run on the same
  // arena; at least one byte so the memref type is valid.
  int64_t arenaBytes = std::max<int64_t>(stateBytes + maxScratch, 1);
  for (func::FuncOp fn : functions)
    rewriteFunction(fn, arenaBytes);

  // Observations (values a step stores for the caller to read, see the
  // DSL's hooks.h) are state like any other, marked so that checkpoints
  // leave them out.
  llvm::StringSet<> observations;
  for (func::FuncOp fn : functions) {
    for (StringRef name : stateNames(fn, "kiln.observations"))
      observations.insert(name);
    fn->removeAttr("kiln.observations");
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
  module->setAttr("kiln.state_layout", b.getArrayAttr(layout));
  module->setAttr("kiln.state_bytes", b.getI64IntegerAttr(stateBytes));
  module->setAttr("kiln.arena_bytes", b.getI64IntegerAttr(arenaBytes));
}
} // namespace
