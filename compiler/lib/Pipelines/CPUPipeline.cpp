//===- CPUPipeline.cpp - kiln's CPU compilation pipeline ------------------===//
//
// Upstream passes are added through their registered textual names and
// options: the option strings are the documented interface of each pass and
// read like the pipeline one would pass to kiln-opt.
//
//===----------------------------------------------------------------------===//

#include "kiln/Pipelines/Pipelines.h"

#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/InitAll.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;

namespace {
void addPasses(OpPassManager &pm, const std::string &pipeline) {
  // The textual names below resolve through the pass registry.
  static std::once_flag registered;
  std::call_once(registered, kiln::registerAllPasses);
  std::string error;
  llvm::raw_string_ostream errorStream(error);
  if (failed(parsePassPipeline(pipeline, pm, errorStream)))
    llvm::report_fatal_error(llvm::Twine("kiln: bad internal pipeline '") +
                             pipeline + "': " + errorStream.str());
}
} // namespace

void kiln::buildKilnDifferentiatePipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createKilnAutodiff());
  addPasses(pm, "canonicalize,cse");
}

void kiln::buildKilnBufferizePipeline(OpPassManager &pm,
                                      const BufferizePipelineOptions &options) {
  pm.addPass(createConvertKilnToLinalg({options.transposedMatmulOperands}));
  pm.addNestedPass<func::FuncOp>(createKilnFuseElementwise());
  addPasses(pm, "canonicalize,cse");
  pm.addNestedPass<func::FuncOp>(createKilnPrepareBufferization());
  addPasses(pm, "empty-tensor-to-alloc-tensor,"
                "one-shot-bufferize{bufferize-function-boundaries "
                "allow-return-allocs "
                "function-boundary-type-conversion=identity-layout-map "
                "create-deallocs=0},"
                "buffer-results-to-out-params,canonicalize");
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
    KilnVectorizeMatmulOptions matmul;
    matmul.vectorWidth = options.vectorWidth;
    matmul.parallelMinWork = options.parallel ? kMatmulParallelMinWork : 0;
    matmul.contract = !options.deterministic;
    pm.addNestedPass<func::FuncOp>(createKilnVectorizeMatmul(matmul));
    KilnVectorizeGathersOptions gathers;
    gathers.vectorWidth = options.vectorWidth;
    gathers.parallelMinWork = options.parallel ? kLoopParallelMinWork : 0;
    pm.addNestedPass<func::FuncOp>(createKilnVectorizeGathers(gathers));
  }
  pm.addNestedPass<func::FuncOp>(createKilnTileTransposes());
  // Single-iteration loops are promoted first: MLIR 16's super-vectorizer
  // finds no loop-carried dependence in them and widens a reduction's store
  // to a 0-d memref into an invalid vector.transfer_write (a [1, N] or
  // [N, 1] mean, e.g. the MSE of a one-output regression).
  addPasses(pm, "func.func(convert-linalg-to-affine-loops,"
                "affine-loop-normalize{promote-single-iter=true},"
                "affine-loop-invariant-code-motion)");
  if (options.parallel) {
    KilnMarkParallelLoopsOptions mark;
    mark.minWork = kLoopParallelMinWork;
    pm.addNestedPass<func::FuncOp>(createKilnMarkParallelLoops(mark));
  }
  // Vectorizing a reduction loop splits it into per-lane partial sums,
  // whose order depends on the width: not in deterministic mode.
  if (options.vectorWidth > 1)
    addPasses(pm, "func.func(affine-super-vectorize{virtual-vector-size=" +
                      std::to_string(options.vectorWidth) +
                      " vectorize-reductions=" +
                      (options.deterministic ? "false" : "true") + "})");
  if (options.parallel)
    pm.addNestedPass<func::FuncOp>(createKilnParallelizeMarkedLoops());
  if (options.approximateMath)
    pm.addPass(createKilnApproximateMath());
  else // LLVM has no intrinsic for tanh (nor erf, atan2): call libm's.
    pm.addPass(createKilnMathToLibm());
  // Parallel loops become OpenMP worksharing loops (libomp's thread pool).
  // canonicalize inlines the memref.alloca_scope that MLIR 16 wraps around
  // each loop body (nothing in it allocates), which would otherwise hold
  // several blocks after convert-scf-to-cf and fail to verify;
  // convert-openmp-to-llvm comes after convert-func-to-llvm, whose
  // bare-pointer calling convention it would otherwise override.
  addPasses(pm, std::string("lower-affine,") +
                    (options.parallel ? "convert-scf-to-openmp,canonicalize,"
                                      : "") +
                    "convert-vector-to-scf,convert-scf-to-cf,"
                "canonicalize,expand-strided-metadata,lower-affine,"
                "convert-vector-to-llvm,convert-math-to-llvm,"
                "convert-arith-to-llvm,convert-memref-to-llvm,"
                "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
                "convert-cf-to-llvm," +
                    (options.parallel ? "convert-openmp-to-llvm," : "") +
                    "reconcile-unrealized-casts");
}

void kiln::buildKilnCPUPipeline(OpPassManager &pm,
                                const CPUPipelineOptions &options) {
  buildKilnDifferentiatePipeline(pm);
  buildKilnBufferizePipeline(pm);
  buildKilnLowerToLLVMPipeline(pm, options);
}

void kiln::registerKilnPipelines() {
  PassPipelineRegistration<>("kiln-differentiate",
                             "Expand kiln.vjp and simplify",
                             buildKilnDifferentiatePipeline);
  PassPipelineRegistration<>("kiln-bufferize",
                             "Lower kiln to memrefs in one static arena",
                             [](OpPassManager &pm) {
                               buildKilnBufferizePipeline(pm);
                             });
  PassPipelineRegistration<>(
      "kiln-lower-to-llvm", "Lower planned memrefs to the LLVM dialect",
      [](OpPassManager &pm) { buildKilnLowerToLLVMPipeline(pm, {}); });
  PassPipelineRegistration<>(
      "kiln-cpu-pipeline", "The whole kiln CPU pipeline",
      [](OpPassManager &pm) { buildKilnCPUPipeline(pm, {}); });
}
