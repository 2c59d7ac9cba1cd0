//===- CPUPipeline.cpp - kiln's CPU compilation pipeline ------------------===//
//
// Built from the passes' C++ constructors and typed option structs, so a
// misspelt pass or option fails to compile rather than at run time. The
// comments give each step's textual name, as one would pass it to kiln-opt.
//
//===----------------------------------------------------------------------===//

#include "kiln/Pipelines/Pipelines.h"

#include "PipelineSteps.h"

#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

std::unique_ptr<Pass> kiln::createFuncToLLVMWithBarePointers() {
  // The typed LowerToLLVMOptions need an MLIRContext (for the data layout),
  // which a pipeline builder does not have; the pass's own option does not.
  std::unique_ptr<Pass> funcToLLVM = createConvertFuncToLLVMPass();
  if (failed(funcToLLVM->initializeOptions("use-bare-ptr-memref-call-conv=1")))
    llvm::report_fatal_error("kiln: convert-func-to-llvm lost its "
                             "use-bare-ptr-memref-call-conv option");
  return funcToLLVM;
}

namespace {
/// canonicalize, cse
void addSimplification(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// one-shot-bufferize{bufferize-function-boundaries allow-return-allocs
/// function-boundary-type-conversion=identity-layout-map create-deallocs=0}:
/// tensors become memrefs whose allocations the memory plan then places in
/// the arena (so no deallocations), with plain layouts at function
/// boundaries for the C ABI.
std::unique_ptr<Pass> createBufferizeIntoArenaPass() {
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.allowReturnAllocs = true;
  options.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  options.createDeallocs = false;
  // What the pass's own option parser sets by default
  // (unknown-type-conversion=fully-dynamic-layout-map).
  options.unknownTypeConverterFn =
      [](Value value, Attribute memorySpace,
         const bufferization::BufferizationOptions &) {
        return bufferization::getMemRefTypeWithFullyDynamicLayout(
            value.getType().cast<TensorType>(), memorySpace);
      };
  return bufferization::createOneShotBufferizePass(options);
}
} // namespace

void kiln::buildKilnDifferentiatePipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createKilnAutodiff());
  addSimplification(pm);
}

void kiln::buildKilnBufferizePipeline(OpPassManager &pm,
                                      const BufferizePipelineOptions &options) {
  ConvertKilnToLinalgOptions lowering;
  lowering.transposedMatmulOperands = options.transposedMatmulOperands;
  if (options.wholeBatchConvolutions)
    lowering.im2colChunkBytes = 0;
  pm.addPass(createConvertKilnToLinalg(lowering));
  pm.addNestedPass<func::FuncOp>(createKilnFuseElementwise());
  // Not upstream cse: its verdict on ops with regions depends on addresses
  // (kiln-deterministic-cse says how), and the compiler must be
  // deterministic.
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createKilnDeterministicCSE());
  pm.addNestedPass<func::FuncOp>(createKilnPrepareBufferization());
  // eliminate-empty-tensors: a chunked convolution writes each chunk
  // straight into its slice of the output (KilnToLinalgNN.cpp).
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createEmptyTensorToAllocTensorPass());
  pm.addPass(createBufferizeIntoArenaPass());
  pm.addPass(bufferization::createBufferResultsToOutParamsPass());
  pm.addPass(createCanonicalizerPass());
  // Before the plan, which must see every lane's buffers.
  KilnParallelizeChunkLoopsOptions chunkLoops;
  chunkLoops.lanes = options.chunkLanes;
  pm.addNestedPass<func::FuncOp>(createKilnParallelizeChunkLoops(chunkLoops));
  KilnReserveMatmulPackingOptions packing;
  packing.vectorWidth = options.matmulVectorWidth;
  pm.addNestedPass<func::FuncOp>(createKilnReserveMatmulPacking(packing));
  KilnStaticMemoryPlanOptions plan;
  plan.pointerBits = options.pointerBits;
  plan.recordPlan = options.recordMemoryPlan;
  pm.addPass(createKilnStaticMemoryPlan(plan));
}

void kiln::buildKilnLowerToLLVMPipeline(OpPassManager &pm,
                                        const CPUPipelineOptions &options) {
  // Affine loops let the super-vectorizer reason about distinct arena views
  // as distinct buffers; LLVM alone sees one arena pointer and cannot prove
  // that a matmul's output does not alias its inputs.
  // Below these sizes a fork and join (microseconds) costs more than it
  // saves: a 256-deep k block of 32 x 128, or a 32k-element elementwise op.
  constexpr int64_t kMatmulParallelMinWork = 1 << 20;
  constexpr int64_t kLoopParallelMinWork = 1 << 15;
  if (options.vectorWidth > 1) {
    // Each product's packed loop nest once per form, in a small function
    // of its own: LLVM's time grows faster than the size of a function.
    pm.addPass(createKilnOutlineMatmuls());
    KilnVectorizeMatmulOptions matmul;
    matmul.vectorWidth = options.vectorWidth;
    matmul.parallelMinWork = options.parallel ? kMatmulParallelMinWork : 0;
    matmul.contract = !options.deterministic;
    pm.addNestedPass<func::FuncOp>(createKilnVectorizeMatmul(matmul));
    KilnVectorizeGathersOptions gathers;
    gathers.vectorWidth = options.vectorWidth;
    gathers.parallelMinWork = options.parallel ? kLoopParallelMinWork : 0;
    pm.addNestedPass<func::FuncOp>(createKilnVectorizeGathers(gathers));
    // Max poolings whose windows tile the input (every 2x2 / stride 2):
    // their stride-KW reads defeat the super-vectorizer.
    KilnVectorizePoolingOptions pooling;
    pooling.vectorWidth = options.vectorWidth;
    pooling.parallelMinWork = gathers.parallelMinWork;
    pm.addNestedPass<func::FuncOp>(createKilnVectorizePooling(pooling));
    // Per-channel sums (a convolution's bias gradient): channels in lanes.
    KilnVectorizeChannelSumsOptions channelSums;
    channelSums.vectorWidth = options.vectorWidth;
    channelSums.parallelMinWork = gathers.parallelMinWork;
    pm.addNestedPass<func::FuncOp>(
        createKilnVectorizeChannelSums(channelSums));
  }
  pm.addNestedPass<func::FuncOp>(createKilnTileTransposes());
  // Elementwise ops over NCHW images loop over rows of 28, 14 or 5:
  // merged contiguous loops give long rows of whole vectors.
  if (options.vectorWidth > 1)
    pm.addNestedPass<func::FuncOp>(createKilnCollapseElementwiseDims());
  // Single-iteration loops are promoted first: MLIR 16's super-vectorizer
  // finds no loop-carried dependence in them and widens a reduction's store
  // to a 0-d memref into an invalid vector.transfer_write (a [1, N] or
  // [N, 1] mean, e.g. the MSE of a one-output regression).
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToAffineLoopsPass());
  pm.addNestedPass<func::FuncOp>(
      createAffineLoopNormalizePass(/*promoteSingleIter=*/true));
  pm.addNestedPass<func::FuncOp>(createAffineLoopInvariantCodeMotionPass());
  if (options.parallel) {
    KilnMarkParallelLoopsOptions mark;
    mark.minWork = kLoopParallelMinWork;
    pm.addNestedPass<func::FuncOp>(createKilnMarkParallelLoops(mark));
  }
  if (options.vectorWidth > 1) {
    // Vectorizing a reduction loop splits it into per-lane partial sums,
    // whose order depends on the width: not in deterministic mode.
    int64_t vectorSize[] = {options.vectorWidth};
    AffineVectorizeOptions vectorize;
    vectorize.vectorSizes = vectorSize;
    vectorize.vectorizeReductions = !options.deterministic;
    pm.addNestedPass<func::FuncOp>(createAffineVectorize(vectorize));
    // Plain loads and stores where the loops never step past a row's end:
    // the vectorizer's transfers would otherwise all lower to masked ones.
    pm.addNestedPass<func::FuncOp>(createKilnInferTransferBounds());
  }
  if (options.parallel)
    pm.addNestedPass<func::FuncOp>(createKilnParallelizeMarkedLoops());
  if (options.approximateMath)
    pm.addPass(createKilnApproximateMath());
  else // LLVM has no intrinsic for tanh (nor erf, atan2): call libm's.
    pm.addPass(createKilnMathToLibm());
  pm.addPass(createLowerAffinePass());
  if (options.parallel) {
    // Parallel loops become OpenMP worksharing loops (libomp's thread
    // pool). canonicalize inlines the memref.alloca_scope that MLIR 16 wraps
    // around each loop body (nothing in it allocates), which would otherwise
    // hold several blocks after convert-scf-to-cf and fail to verify.
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createMemRefToLLVMConversionPass());
  pm.addPass(createFuncToLLVMWithBarePointers());
  pm.addPass(cf::createConvertControlFlowToLLVMPass());
  // After convert-func-to-llvm, whose bare-pointer calling convention it
  // would otherwise override.
  if (options.parallel)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void kiln::buildKilnCPUPipeline(OpPassManager &pm,
                                const CPUPipelineOptions &options) {
  buildKilnDifferentiatePipeline(pm);
  BufferizePipelineOptions bufferize;
  bufferize.matmulVectorWidth = options.vectorWidth;
  buildKilnBufferizePipeline(pm, bufferize);
  buildKilnLowerToLLVMPipeline(pm, options);
}

namespace {
/// kiln-opt's spelling of CPUPipelineOptions:
/// -kiln-cpu-pipeline='vector-width=8 parallel=1 deterministic=1'.
struct CPUPipelineCommandLine
    : public PassPipelineOptions<CPUPipelineCommandLine> {
  Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("exp/log as polynomials instead of libm calls"),
      llvm::cl::init(true)};
  Option<unsigned> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector (16 = AVX-512; 0 or 1: scalar)"),
      llvm::cl::init(16)};
  Option<bool> parallel{*this, "parallel",
                        llvm::cl::desc("big independent loops on OpenMP "
                                       "threads"),
                        llvm::cl::init(false)};
  Option<bool> deterministic{
      *this, "deterministic",
      llvm::cl::desc("results independent of vector width and fma"),
      llvm::cl::init(false)};

  kiln::CPUPipelineOptions typed() const {
    kiln::CPUPipelineOptions options;
    options.approximateMath = approximateMath;
    options.vectorWidth = vectorWidth;
    options.parallel = parallel;
    options.deterministic = deterministic;
    return options;
  }
};

/// kiln-opt's spelling of BufferizePipelineOptions.
struct BufferizePipelineCommandLine
    : public PassPipelineOptions<BufferizePipelineCommandLine> {
  Option<unsigned> pointerBits{
      *this, "pointer-bits",
      llvm::cl::desc("the target's pointer width (32 or 64)"),
      llvm::cl::init(64)};
  Option<bool> recordMemoryPlan{
      *this, "record-memory-plan",
      llvm::cl::desc("attach kiln.memory_plan to each function"),
      llvm::cl::init(false)};
  Option<bool> transposedMatmulOperands{
      *this, "transposed-matmul-operands",
      llvm::cl::desc("matmuls read kiln.transpose operands in place"),
      llvm::cl::init(true)};
  Option<int64_t> chunkLanes{
      *this, "chunk-lanes",
      llvm::cl::desc("lanes of a convolution's chunk loop on threads (0: "
                     "serial)"),
      llvm::cl::init(0)};
  Option<unsigned> matmulVectorWidth{
      *this, "matmul-vector-width",
      llvm::cl::desc("kiln-vectorize-matmul's vector width after this "
                     "pipeline: arena room for B packed once per k block (0: "
                     "none)"),
      llvm::cl::init(0)};

  kiln::BufferizePipelineOptions typed() const {
    kiln::BufferizePipelineOptions options;
    options.pointerBits = pointerBits;
    options.recordMemoryPlan = recordMemoryPlan;
    options.transposedMatmulOperands = transposedMatmulOperands;
    options.chunkLanes = chunkLanes;
    options.matmulVectorWidth = matmulVectorWidth;
    return options;
  }
};
} // namespace

void kiln::registerKilnPipelines() {
  PassPipelineRegistration<>("kiln-differentiate",
                             "Expand kiln.vjp and simplify",
                             buildKilnDifferentiatePipeline);
  PassPipelineRegistration<BufferizePipelineCommandLine>(
      "kiln-bufferize", "Lower kiln to memrefs in one static arena",
      [](OpPassManager &pm, const BufferizePipelineCommandLine &options) {
        buildKilnBufferizePipeline(pm, options.typed());
      });
  PassPipelineRegistration<CPUPipelineCommandLine>(
      "kiln-lower-to-llvm", "Lower planned memrefs to the LLVM dialect",
      [](OpPassManager &pm, const CPUPipelineCommandLine &options) {
        buildKilnLowerToLLVMPipeline(pm, options.typed());
      });
  PassPipelineRegistration<CPUPipelineCommandLine>(
      "kiln-cpu-pipeline", "The whole kiln CPU pipeline",
      [](OpPassManager &pm, const CPUPipelineCommandLine &options) {
        buildKilnCPUPipeline(pm, options.typed());
      });
}
