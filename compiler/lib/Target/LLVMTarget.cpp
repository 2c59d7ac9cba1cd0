//===- LLVMTarget.cpp - LLVM IR, target machines, object files ------------===//
//
// The last step of every kiln compilation: LLVM dialect -> LLVM IR -> O3 ->
// machine code for the host or a cross target (aarch64, riscv64, Cortex-M).
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/LLVMTarget.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Target/ModuleParts.h"
#include "kiln/Target/TargetSelection.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/Triple.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/PassTimingInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>

using namespace mlir;

namespace {
void initializeAllTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
  });
}
} // namespace

std::unique_ptr<llvm::TargetMachine>
kiln::createTargetMachine(const TargetOptions &options, std::string &error) {
  initializeAllTargets();
  std::optional<SelectedTarget> selected = selectTarget(options, error);
  if (!selected)
    return nullptr;
  llvm::Triple parsed(selected->triple);
  // Bare-metal targets link statically; everything else may end up in a
  // shared library or a PIE executable.
  llvm::Reloc::Model reloc = parsed.getOS() == llvm::Triple::UnknownOS
                                 ? llvm::Reloc::Static
                                 : llvm::Reloc::PIC_;
  llvm::TargetOptions targetOptions;
  targetOptions.FloatABIType = selected->floatABI;
  targetOptions.MCOptions.ABIName = selected->abiName;
  // LLVM's default (Standard) fuses llvm.fmuladd where the core has an
  // fma and Fast fuses any multiply-add: results would then depend on the
  // target. Strict keeps both operations, each correctly rounded.
  if (options.strictFloat)
    targetOptions.AllowFPOpFusion = llvm::FPOpFusion::Strict;
  auto codegenLevel = options.optLevel >= 3   ? llvm::CodeGenOpt::Aggressive
                      : options.optLevel == 0 ? llvm::CodeGenOpt::None
                                              : llvm::CodeGenOpt::Default;
  std::unique_ptr<llvm::TargetMachine> machine(
      selected->target->createTargetMachine(
          selected->triple, selected->cpu, selected->features, targetOptions,
          reloc, std::nullopt, codegenLevel));
  if (!machine)
    error = "cannot create a target machine for '" + selected->triple +
            "' cpu '" + selected->cpu + "'";
  return machine;
}

namespace {
TimingScope nestedScope(TimingScope *timing, StringRef name) {
  return timing ? timing->nest(name) : TimingScope();
}

/// Above this many instructions (before optimization) a module gets no
/// partial or runtime unrolling, no post-RA scheduling and no full
/// unrolling of the loops around its matrix products: lenet's has 16k,
/// mlp's 8.6k, logreg's 2.2k. Only a bigger module is optimized in parts by
/// default (compileThreads).
constexpr unsigned kBigModuleInstructions = 4000;

/// Sets LLVM's command-line option `name` to false, or back to unset (the
/// target's own preference applies) where `keepDefault`. LLVM reads these
/// switches only from its command-line options, so they are set for each
/// compilation.
void disableUnlessDefault(llvm::StringRef name, bool keepDefault) {
  llvm::cl::Option *option = llvm::cl::getRegisteredOptions().lookup(name);
  if (!option)
    return;
  // Some options count as given only with a position (post-RA-scheduler),
  // which reset() keeps.
  option->reset();
  option->setPosition(0);
  if (!keepDefault)
    option->addOccurrence(/*pos=*/1, name, "false");
}

/// kiln's loops come from MLIR vectorized and register-blocked; LLVM's
/// partial and runtime unrolling (on by default where the core has a loop
/// buffer, Zen 3 among them) mostly copies their bodies. In a big step
/// function that made 3.8x the optimized IR of lenet, half of the -O3 time
/// (LoopUnrollPass) and most of code generation's (Loop Strength Reduction,
/// ISel on the copies), for steps no faster (mlp, lenet). The list
/// scheduler that runs again after register allocation (on for Zen 3 and
/// other cores whose scheduling model asks for it) was then the most
/// expensive code generation pass (30% of lenet's): its time grows with the
/// square of a block's length, and the fully unrolled packing of a matrix
/// product's panel is one block of ~2800 instructions; an out-of-order core
/// reorders those instructions itself, and the steps are as fast without it
/// (mlp, lenet, convnet). A small program (logreg), where loop overhead
/// shows, keeps both, and so does every device model, all small. Full
/// unrolling of loops with a small constant trip count stays.
void chooseSizeDependentOptions(bool small) {
  for (llvm::StringRef name :
       {"unroll-allow-partial", "unroll-runtime", "post-RA-scheduler"})
    disableUnlessDefault(name, small);
}

/// Marks `loop` llvm.loop.unroll.disable, keeping its other properties.
void keepRolled(llvm::Loop &loop) {
  llvm::LLVMContext &context = loop.getHeader()->getContext();
  llvm::SmallVector<llvm::Metadata *> operands{nullptr}; // the loop's own id
  if (llvm::MDNode *existing = loop.getLoopID())
    llvm::append_range(operands, llvm::drop_begin(existing->operands()));
  operands.push_back(llvm::MDNode::get(
      context, llvm::MDString::get(context, "llvm.loop.unroll.disable")));
  llvm::MDNode *id = llvm::MDNode::getDistinct(context, operands);
  id->replaceOperandWith(0, id);
  loop.setLoopID(id);
}

/// Whether `inst` computes on floating-point values, rather than moving
/// them (loads, stores, masked loads and stores, shuffles, selects).
/// Calls returning floats compute (llvm.fmuladd, llvm.maxnum, libm).
bool computesOnFloats(const llvm::Instruction &inst) {
  if (llvm::isa<llvm::FCmpInst>(inst))
    return true;
  if (const auto *call = llvm::dyn_cast<llvm::CallBase>(&inst)) {
    switch (call->getIntrinsicID()) {
    case llvm::Intrinsic::masked_load:
    case llvm::Intrinsic::masked_gather:
      return false;
    default:
      return call->getType()->isFPOrFPVectorTy();
    }
  }
  return (llvm::isa<llvm::BinaryOperator>(inst) ||
          llvm::isa<llvm::UnaryOperator>(inst)) &&
         inst.getType()->isFPOrFPVectorTy();
}

bool callsMatrixProduct(const llvm::Loop &loop) {
  for (const llvm::BasicBlock *block : loop.blocks())
    for (const llvm::Instruction &inst : *block)
      if (const auto *call = llvm::dyn_cast<llvm::CallBase>(&inst))
        if (const llvm::Function *callee = call->getCalledFunction())
          if (callee->hasFnAttribute(kiln::kMatrixProductAttr))
            return true;
  return false;
}

bool onlyMovesFloats(const llvm::Loop &loop) {
  return llvm::none_of(loop.blocks(), [](const llvm::BasicBlock *block) {
    return llvm::any_of(*block, computesOnFloats);
  });
}

/// Marks `loop` and the loops in it that keepLoopsAroundProductsRolled
/// keeps rolled. A loop around a product call is marked from the outermost
/// one down, each loop once.
void chooseRolledLoops(llvm::Loop &loop, bool inProduct) {
  if (!inProduct && callsMatrixProduct(loop)) {
    for (llvm::Loop *inner : loop.getLoopsInPreorder())
      keepRolled(*inner);
    return;
  }
  if (inProduct && onlyMovesFloats(loop))
    keepRolled(loop);
  for (llvm::Loop *inner : loop.getSubLoops())
    chooseRolledLoops(*inner, inProduct);
}

/// Keeps two kinds of loops of a big module from being fully unrolled, as
/// LLVM otherwise does with every small constant trip count:
/// - in a matrix product's function (kMatrixProductAttr), the loops that
///   only move floats: the packing of a panel into its buffer. The product's
///   register-tile loops, which compute, still unroll.
/// - elsewhere, a loop that calls a product and every loop in it: a
///   convolution's chunk loop, whose im2col gathers and output copies are
///   nests 5 to 7 deep.
/// Unrolling them made the most of LLVM's time on these modules (scalar
/// evolution in IndVarSimplify, on the unrolled bodies in deep nests, then
/// instruction selection and LSR on the copies) for steps no faster: lenet
/// and convnet's chunk lanes and mlp_wide's packing run as fast rolled.
/// Other loops outside the products still unroll: rolling all of them made
/// lenet's step 25% slower (its elementwise and pooling loops).
void keepLoopsAroundProductsRolled(llvm::Module &module) {
  for (llvm::Function &function : module) {
    if (function.isDeclaration())
      continue;
    bool inProduct = function.hasFnAttribute(kiln::kMatrixProductAttr);
    llvm::DominatorTree dominators(function);
    llvm::LoopInfo loops(dominators);
    for (llvm::Loop *loop : loops)
      chooseRolledLoops(*loop, inProduct);
  }
}

/// LLVM's default pipeline for `optLevel`, as MLIR's
/// makeOptimizingTransformer builds it, with per-pass timers printed to
/// `passTimesOut` when asked.
void optimize(llvm::Module &module, llvm::TargetMachine &machine,
              unsigned optLevel, bool timePasses,
              llvm::raw_ostream &passTimesOut) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassInstrumentationCallbacks instrumentation;
  llvm::TimePassesHandler passTimes(timePasses);
  passTimes.setOutStream(passTimesOut);
  passTimes.registerCallbacks(instrumentation);
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder builder(&machine, tuning, std::nullopt, &instrumentation);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  llvm::OptimizationLevel level = optLevel >= 3   ? llvm::OptimizationLevel::O3
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                                  : llvm::OptimizationLevel::O0;
  llvm::ModulePassManager pm =
      level == llvm::OptimizationLevel::O0
          ? builder.buildO0DefaultPipeline(level)
          : builder.buildPerModuleDefaultPipeline(level);
  pm.run(module, modules);
}

/// The same target machine as `machine`, for another thread: a
/// TargetMachine caches its subtargets and is not safe to share.
std::unique_ptr<llvm::TargetMachine>
copyTargetMachine(const llvm::TargetMachine &machine) {
  return std::unique_ptr<llvm::TargetMachine>(
      machine.getTarget().createTargetMachine(
          machine.getTargetTriple().str(), machine.getTargetCPU(),
          machine.getTargetFeatureString(), machine.Options,
          machine.getRelocationModel(), machine.getCodeModel(),
          machine.getOptLevel()));
}

/// How many threads optimize a module: `requested`, else
/// KILN_COMPILE_THREADS, else the host's cores (at most 8: a module of
/// kiln rarely has more big independent parts) for a big module. A small
/// one (logreg, every device model) takes a few tenths of a second, most
/// of them in one function with its products, and stays whole.
unsigned compileThreads(unsigned requested, bool small) {
  if (requested)
    return requested;
  if (const char *fromEnvironment = std::getenv("KILN_COMPILE_THREADS")) {
    unsigned threads = 0;
    if (!llvm::StringRef(fromEnvironment).getAsInteger(10, threads) &&
        threads > 0)
      return threads;
  }
  if (small)
    return 1;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
}
} // namespace

std::unique_ptr<llvm::Module>
kiln::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                           llvm::TargetMachine &machine, unsigned optLevel,
                           TimingScope *timing, unsigned threads) {
  TimingScope translation = nestedScope(timing, "Translate to LLVM IR");
  registerLLVMDialectTranslation(*module.getContext());
  registerOpenMPDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule)
    return nullptr;
  llvmModule->setTargetTriple(machine.getTargetTriple().str());
  llvmModule->setDataLayout(machine.createDataLayout());
  for (llvm::Function &fn : *llvmModule) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr("target-cpu", machine.getTargetCPU());
    if (!machine.getTargetFeatureString().empty())
      fn.addFnAttr("target-features", machine.getTargetFeatureString());
  }
  translation.stop();
  TimingScope optimization = nestedScope(timing, "LLVM optimization");
  // Decided on the whole module, before it is split: LLVM's options are
  // global, read by every thread.
  unsigned instructions = 0;
  for (const llvm::Function &fn : *llvmModule)
    instructions += fn.getInstructionCount();
  bool small = instructions <= kBigModuleInstructions;
  chooseSizeDependentOptions(small);
  if (!small)
    keepLoopsAroundProductsRolled(*llvmModule);
  unsigned parts = compileThreads(threads, small);
  std::vector<std::string> passTimes(parts);
  // Part 0 runs on this thread with `machine`, which may rewrite its
  // options while it creates a subtarget: the other parts' copies are
  // made before any thread starts.
  std::vector<std::unique_ptr<llvm::TargetMachine>> machines;
  machines.push_back(nullptr);
  for (unsigned index = 1; index < parts; ++index)
    machines.push_back(copyTargetMachine(machine));
  std::string error;
  llvmModule = optimizeInParts(
      std::move(llvmModule), parts,
      [&](llvm::Module &part, unsigned index) {
        llvm::raw_string_ostream os(passTimes[index]);
        optimize(part, index == 0 ? machine : *machines[index], optLevel,
                 bool(optimization), os);
      },
      error);
  if (!llvmModule) {
    llvm::errs() << "kiln: parallel LLVM optimization: " << error << "\n";
    return nullptr;
  }
  // Per-pass times of each part (threads ran at once: their sum is CPU time,
  // the "LLVM optimization" scope the wall time).
  llvm::erase_if(passTimes,
                 [](const std::string &report) { return report.empty(); });
  for (auto [index, report] : llvm::enumerate(passTimes)) {
    if (passTimes.size() > 1)
      llvm::errs() << "===-- LLVM optimization, part " << index + 1 << " of "
                   << passTimes.size() << " --===\n";
    llvm::errs() << report;
  }
  return llvmModule;
}

LogicalResult kiln::emitMachineCode(llvm::Module &module,
                                    llvm::TargetMachine &machine, bool assembly,
                                    llvm::raw_pwrite_stream &os,
                                    TimingScope *timing) {
  TimingScope codegen = nestedScope(timing, "LLVM code generation");
  llvm::legacy::PassManager pm;
  auto kind = assembly ? llvm::CGFT_AssemblyFile : llvm::CGFT_ObjectFile;
  if (machine.addPassesToEmitFile(pm, os, nullptr, kind))
    return failure();
  // The legacy pass manager times its passes while this global is set.
  bool timedBefore = llvm::TimePassesIsEnabled;
  llvm::TimePassesIsEnabled = bool(codegen);
  pm.run(module);
  llvm::TimePassesIsEnabled = timedBefore;
  if (codegen)
    llvm::reportAndResetTimings(&llvm::errs());
  return success();
}
