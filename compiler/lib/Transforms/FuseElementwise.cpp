//===- FuseElementwise.cpp - fusion without recomputation -----------------===//
//
// Upstream's pattern fuses one producer into one consumer at a time and
// copies both bodies into the new op, so a chain of n elementwise ops costs
// 1 + 2 + ... + n body copies: 37 s for 5,000 ops, hours for 200,000. Here
// each consumer first gathers all the producers it can absorb (a cluster,
// each op visited once) and one new linalg.generic gets every member's
// body exactly once. A member also used after the consumer (a forward
// activation the backward pass reads) stays a result of the fused op, as
// upstream does. Upstream's patterns then see only what clusters leave.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

#include <queue>

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISE
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// True when every loop of the consumer indexes the fused operand, so the
/// fused producer still computes each of its elements exactly once.
bool fusesWithoutRecomputation(OpOperand *fusedOperand) {
  auto consumer = dyn_cast<linalg::GenericOp>(fusedOperand->getOwner());
  if (!consumer)
    return false;
  AffineMap map = consumer.getMatchingIndexingMap(fusedOperand);
  return map.getNumResults() == consumer.getNumLoops();
}

bool hasReductionLoops(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.getNumReductionLoops() > 0;
}

/// True when no linalg op with a reduction loop (a matmul, a sum: another
/// layer's or micro-batch's work) lies between producer and consumer.
/// Fusion moves the producer's computation to the consumer, so its inputs
/// would stay alive across that work: fusing gradient accumulation's chain
/// of adds would keep every micro-batch's gradients until the last one.
bool staysLocal(OpOperand *fusedOperand) {
  Operation *consumer = fusedOperand->getOwner();
  Operation *producer = fusedOperand->get().getDefiningOp();
  if (!producer || producer->getBlock() != consumer->getBlock())
    return false;
  for (Operation *op = producer->getNextNode(); op && op != consumer;
       op = op->getNextNode())
    if (hasReductionLoops(op))
      return false;
  return true;
}

/// Position of each op in its block and the number of reduction linalg ops
/// before it, so that staysLocal is a subtraction instead of a walk.
struct BlockOrder {
  llvm::DenseMap<Operation *, std::pair<unsigned, unsigned>> at;

  explicit BlockOrder(Block &block) {
    unsigned position = 0, reductions = 0;
    for (Operation &op : block) {
      at[&op] = {position++, reductions};
      reductions += hasReductionLoops(&op);
    }
  }
  unsigned position(Operation *op) const { return at.lookup(op).first; }
  bool noReductionBetween(Operation *producer, Operation *consumer) const {
    return at.lookup(producer).second + hasReductionLoops(producer) ==
           at.lookup(consumer).second;
  }
};

/// The producer of `operand` if the cluster of its consumer may absorb it
/// through this operand: the rules of fusesWithoutRecomputation and
/// staysLocal, plus what makes a one-shot fusion simple and exact: a
/// single-result, all-parallel producer, permutation maps on both sides, a
/// body that does not read its init.
linalg::GenericOp fusibleProducer(OpOperand &operand, const BlockOrder &order) {
  auto consumer = cast<linalg::GenericOp>(operand.getOwner());
  auto producer = operand.get().getDefiningOp<linalg::GenericOp>();
  if (!producer || producer->getBlock() != consumer->getBlock() ||
      !producer.hasTensorSemantics() || producer->getNumResults() != 1 ||
      producer.getNumParallelLoops() != producer.getNumLoops() ||
      !consumer.isDpsInput(&operand) || !fusesWithoutRecomputation(&operand) ||
      !consumer.getMatchingIndexingMap(&operand).isPermutation())
    return nullptr;
  OpOperand *init = producer.getDpsInitOperand(0);
  if (!producer.getMatchingIndexingMap(init).isPermutation() ||
      producer.payloadUsesValueFromOperand(init) ||
      !order.noReductionBetween(producer, consumer))
    return nullptr;
  return producer;
}

/// A consumer and the producers fused into it, each with the map from the
/// consumer's loops to its own (a permutation).
struct Cluster {
  linalg::GenericOp root;
  llvm::DenseMap<Operation *, AffineMap> loopsOf;
  /// For each member input fed by another member: that member.
  llvm::DenseMap<OpOperand *, linalg::GenericOp> fedBy;
  SmallVector<linalg::GenericOp> members; ///< in block order, root last
  /// Members whose result is also used outside the cluster (after the
  /// root): the fused op keeps it as an extra result.
  llvm::SmallPtrSet<Operation *, 8> preserved;
};

/// Grows the cluster of `root` from the bottom of the block up: a producer
/// is considered once every member that could use it (all lie below it)
/// has been, so its uses can be classified in one look: fed to members,
/// or after the root (then it stays a result of the fused op).
Cluster gatherCluster(linalg::GenericOp root, const BlockOrder &order) {
  Cluster cluster;
  cluster.root = root;
  cluster.loopsOf[root] = AffineMap::getMultiDimIdentityMap(
      root.getNumLoops(), root.getContext());
  unsigned rootPosition = order.position(root);
  bool mayPreserve = root.getNumReductionLoops() == 0;
  // Candidate producers, each with the member operands it would feed and
  // the loop map each of them implies.
  llvm::DenseMap<Operation *, SmallVector<std::pair<OpOperand *, AffineMap>>>
      edges;
  auto byPosition = [&](Operation *a, Operation *b) {
    return order.position(a) < order.position(b);
  };
  std::priority_queue<Operation *, std::vector<Operation *>,
                      decltype(byPosition)>
      pending(byPosition);
  auto addEdges = [&](linalg::GenericOp member) {
    AffineMap memberLoops = cluster.loopsOf[member];
    for (OpOperand *operand : member.getDpsInputOperands()) {
      linalg::GenericOp producer = fusibleProducer(*operand, order);
      if (!producer)
        continue;
      // consumer loops -> tensor index -> producer loops.
      AffineMap loops =
          inversePermutation(producer.getMatchingIndexingMap(
                                 producer.getDpsInitOperand(0)))
              .compose(member.getMatchingIndexingMap(operand).compose(
                  memberLoops));
      auto &producerEdges = edges[producer];
      if (producerEdges.empty())
        pending.push(producer);
      producerEdges.push_back({operand, loops});
    }
  };
  addEdges(root);
  while (!pending.empty()) {
    auto producer = cast<linalg::GenericOp>(pending.top());
    pending.pop();
    auto &producerEdges = edges[producer];
    // Every member reading it must read the same element per iteration.
    AffineMap loops = producerEdges.front().second;
    if (llvm::any_of(producerEdges, [&](auto &edge) {
          return edge.second != loops;
        }))
      continue;
    llvm::SmallPtrSet<OpOperand *, 4> fed;
    for (auto &edge : producerEdges)
      fed.insert(edge.first);
    bool usedOutside = false, usable = true;
    for (OpOperand &use : producer->getResult(0).getUses()) {
      if (fed.contains(&use))
        continue;
      usedOutside = true;
      Operation *user = producer->getBlock()->findAncestorOpInBlock(
          *use.getOwner());
      usable &= mayPreserve && user && order.position(user) > rootPosition;
    }
    if (!usable)
      continue;
    cluster.loopsOf[producer] = loops;
    for (auto &edge : producerEdges)
      cluster.fedBy[edge.first] = producer;
    if (usedOutside)
      cluster.preserved.insert(producer);
    cluster.members.push_back(producer);
    addEdges(producer);
  }
  // Members were taken bottom-up: reverse for block order.
  std::reverse(cluster.members.begin(), cluster.members.end());
  cluster.members.push_back(root);
  return cluster;
}

/// Builds the fused op of `cluster` and replaces its members with it.
/// Inputs: every member input not fed by another member, in the order
/// pairwise fusion would give (each producer's inputs in place of the
/// operand it feeds); results: the preserved members', then the root's.
/// Returns failure, changing nothing, when the fused operands would no
/// longer define every loop's bound (a reduction root whose reduced operand
/// came from a producer with only broadcast inputs).
FailureOr<linalg::GenericOp> fuseCluster(Cluster &cluster,
                                         RewriterBase &rewriter) {
  linalg::GenericOp root = cluster.root;
  SmallVector<Value> inputs, inits;
  SmallVector<AffineMap> maps, initMaps;
  llvm::DenseMap<OpOperand *, unsigned> inputIndex;
  // An explicit stack: a chain may be 100,000 ops deep.
  SmallVector<std::pair<linalg::GenericOp, unsigned>> stack{{root, 0}};
  llvm::SmallPtrSet<Operation *, 16> expanded;
  while (!stack.empty()) {
    auto &[member, next] = stack.back();
    if (next == member.getNumDpsInputs()) {
      stack.pop_back();
      continue;
    }
    OpOperand *operand = member.getDpsInputOperand(next++);
    if (linalg::GenericOp producer = cluster.fedBy.lookup(operand)) {
      if (expanded.insert(producer).second)
        stack.push_back({producer, 0});
      continue;
    }
    inputIndex[operand] = inputs.size();
    inputs.push_back(operand->get());
    maps.push_back(member.getMatchingIndexingMap(operand).compose(
        cluster.loopsOf[member]));
  }
  SmallVector<linalg::GenericOp> resultMembers;
  for (linalg::GenericOp member : cluster.members) {
    if (!cluster.preserved.contains(member))
      continue;
    OpOperand *init = member.getDpsInitOperand(0);
    resultMembers.push_back(member);
    inits.push_back(init->get());
    maps.push_back(
        member.getMatchingIndexingMap(init).compose(cluster.loopsOf[member]));
  }
  for (OpOperand *init : root.getDpsInitOperands()) {
    inits.push_back(init->get());
    maps.push_back(root.getMatchingIndexingMap(init));
  }

  llvm::SmallBitVector bounded(root.getNumLoops());
  for (AffineMap map : maps)
    for (AffineExpr result : map.getResults())
      if (auto dim = result.dyn_cast<AffineDimExpr>())
        bounded.set(dim.getPosition());
  if (!bounded.all())
    return failure();

  SmallVector<Type> resultTypes;
  for (Value init : inits)
    resultTypes.push_back(init.getType());
  rewriter.setInsertionPoint(root);
  auto fused = rewriter.create<linalg::GenericOp>(
      root.getLoc(), resultTypes, inputs, inits, maps,
      root.getIteratorTypesArray());
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  for (Value operand : fused->getOperands()) {
    argTypes.push_back(getElementTypeOrSelf(operand.getType()));
    argLocs.push_back(operand.getLoc());
  }
  Block *body = rewriter.createBlock(&fused.getRegion(), {}, argTypes, argLocs);

  IRMapping mapping;
  llvm::DenseMap<Operation *, Value> yielded;
  SmallVector<Value> results;
  for (linalg::GenericOp member : cluster.members) {
    Block &memberBody = member.getRegion().front();
    for (OpOperand *operand : member.getDpsInputOperands()) {
      BlockArgument arg = member.getMatchingBlockArgument(operand);
      if (linalg::GenericOp producer = cluster.fedBy.lookup(operand))
        mapping.map(arg, yielded.lookup(producer));
      else
        mapping.map(arg, body->getArgument(inputIndex.lookup(operand)));
    }
    if (member == root)
      for (auto [i, init] : llvm::enumerate(root.getDpsInitOperands()))
        mapping.map(root.getMatchingBlockArgument(init),
                    body->getArgument(inputs.size() + resultMembers.size() + i));
    AffineMap loops = cluster.loopsOf[member];
    for (Operation &op : memberBody.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(op)) {
        // The member's loop `dim` is the fused op's loop loops[dim].
        mapping.map(index.getResult(),
                    rewriter.create<linalg::IndexOp>(
                        index.getLoc(), loops.getDimPosition(index.getDim())));
        continue;
      }
      rewriter.clone(op, mapping);
    }
    auto yield = cast<linalg::YieldOp>(memberBody.getTerminator());
    if (member != root) {
      yielded[member] = mapping.lookupOrDefault(yield.getOperand(0));
      continue;
    }
    for (linalg::GenericOp preserved : resultMembers)
      results.push_back(yielded.lookup(preserved));
    for (Value value : yield.getOperands())
      results.push_back(mapping.lookupOrDefault(value));
    rewriter.create<linalg::YieldOp>(yield.getLoc(), results);
  }

  rewriter.replaceOp(
      root, fused->getResults().take_back(root->getNumResults()));
  // Members only feed later members, erased first; what remains of a
  // preserved member's uses is outside the cluster.
  llvm::DenseMap<Operation *, Value> resultOf;
  for (auto [i, member] : llvm::enumerate(resultMembers))
    resultOf[member] = fused->getResult(i);
  for (linalg::GenericOp member : llvm::reverse(cluster.members)) {
    if (member == root)
      continue;
    if (Value result = resultOf.lookup(member))
      rewriter.replaceOp(member, result);
    else
      rewriter.eraseOp(member);
  }
  return fused;
}

/// Fuses the clusters of every block under `fn`, consumers last in the
/// block first, so each op joins the cluster of its final consumer.
void fuseClusters(func::FuncOp fn) {
  SmallVector<Block *> blocks;
  fn.walk([&](Block *block) {
    if (!block->getParentOp() || !isa<linalg::LinalgOp>(block->getParentOp()))
      blocks.push_back(block);
  });
  IRRewriter rewriter(fn.getContext());
  for (Block *block : blocks) {
    BlockOrder order(*block);
    SmallVector<linalg::GenericOp> generics;
    for (Operation &op : llvm::reverse(*block))
      if (auto generic = dyn_cast<linalg::GenericOp>(op))
        if (generic.hasTensorSemantics())
          generics.push_back(generic);
    llvm::DenseSet<Operation *> absorbed;
    for (linalg::GenericOp root : generics) {
      if (absorbed.contains(root))
        continue;
      Cluster cluster = gatherCluster(root, order);
      if (cluster.members.size() < 2)
        continue;
      auto rootAt = order.at.lookup(root);
      FailureOr<linalg::GenericOp> fused = fuseCluster(cluster, rewriter);
      if (failed(fused))
        continue;
      // Later clusters may preserve results the fused op reads.
      order.at[*fused] = rootAt;
      for (linalg::GenericOp member : cluster.members)
        absorbed.insert(member);
    }
  }
}

struct FuseElementwisePass
    : public kiln::impl::KilnFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    fuseClusters(getOperation());
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *fused) {
          return fusesWithoutRecomputation(fused) && staysLocal(fused);
        });
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
