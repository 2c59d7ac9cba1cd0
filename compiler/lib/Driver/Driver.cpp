//===- Driver.cpp - kilnc's command line, shared by generators ------------===//

#include "kiln/Driver/Driver.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Driver/NVPTXDriver.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/ABI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Triple.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Host.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

std::string kiln::driverUsage(llvm::StringRef tool, bool takesInput) {
  std::string usage = "usage: " + tool.str() +
                      (takesInput ? " <input.mlir|model.cpp>" : "") +
                      " [options]\n";
  if (takesInput)
    usage += R"(
  A model source (.cpp, .cc, .cxx) is built into its generator with the C++
  compiler kiln was configured with (KILN_CXX overrides it), against kiln's
  DSL headers and libraries; the generator runs with these options.
)";
  usage += R"(
  --emit=KIND     traced  IR as traced (kiln.vjp not yet expanded)
                  mlir    kiln IR: forward and generated backward
                  memref  bufferized IR in one static arena (final ABI)
                  llvm    LLVM IR
                  asm     target assembly
                  obj     object file, plus a C header (see --header)
                  header  the C header only
                  ptx     the kernels' PTX (--target=nvptx64-nvidia-cuda)
                  memory-report  every arena buffer: size, offset, live
                          range, source line; state and I/O totals
                  default: from -o's extension (.o obj, .s asm, .ll llvm,
                  .h header), else mlir
  -o FILE         output file ('-' = stdout, the default; obj needs a file)
  --header=FILE   header path for --emit=obj (default: output with .h)
  --mlir-output=FILE  also write the kiln IR that --emit=mlir prints to FILE
                  (one compilation for a build's object and IR)
  --target=TRIPLE cross-compile, e.g. aarch64-linux-gnu, riscv64-linux-gnu,
                  thumbv7em-none-eabihf (default: the host)
  --mcpu=CPU      target CPU (default: the build machine's CPU for the host,
                  --mcpu=generic for a portable object; cortex-m4 for
                  thumbv7em, generic otherwise)
  --mattr=FEATS   target features (default for riscv64 Linux: +m,+a,+f,+d,+c)
  --float-abi=ABI soft, softfp (ARM) or hard (default: from the triple, ARM
                  eabi soft, eabihf hard; RISC-V hard, lp64d, with an FPU)
                  GPU: --target=nvptx64-nvidia-cuda [--mcpu=sm_80|sm_90]
                  [--mattr=+ptx78]: kernels + a host object (docs/gpu.md)
  -O0 -O1 -O2 -O3 LLVM optimization level (default -O3)
  --no-approx-math  keep libm calls for exp/log instead of polynomials
  --deterministic bit-identical results on every CPU target (x86-64, aarch64,
                  riscv64, Cortex-M): reductions in one fixed order whatever
                  the vector width, no fused multiply-adds (slower on wide
                  vector units; docs/devices.md)
  --debug-locations print each op's source location (model.cpp:LINE) in IR
  --memory-budget=SIZE  fail unless the arena (state + scratch) fits in
                  SIZE bytes (suffix B, KiB or MiB: 256KiB); the error names
                  the largest buffers. A model's generator first splits the
                  train step's batch into micro-batches to fit.
  --check-numerics  each call records the first op that made a NaN/Inf
                  (see <model>_numerics_sites in the header)
  --parallel, --no-parallel  run big independent loops on OpenMP threads
                  (the object then needs libomp; default: on for the host,
                  off with --target)
  --compile-threads=N  optimize the LLVM module in up to N parts on N
                  threads, the same code as with 1 (default:
                  KILN_COMPILE_THREADS, else the host's cores, at most 8,
                  for a module above 4000 LLVM instructions)
  --timing        print to stderr where the compile time goes: each MLIR
                  pass, translation to LLVM IR, each LLVM optimization and
                  code generation pass
)";
  return usage;
}

bool kiln::parseDriverOptions(int argc, char **argv, bool takesInput,
                              DriverOptions &options, std::string &error,
                              bool &help) {
  help = false;
  bool emitGiven = false;
  for (int i = 1; i < argc; ++i) {
    int first = i;
    llvm::StringRef arg = argv[i];
    auto value = [&](llvm::StringRef flag, std::string &out) {
      if (arg.consume_front(flag)) {
        if (arg.consume_front("=")) {
          out = arg.str();
          return true;
        }
        if (arg.empty() && i + 1 < argc) {
          out = argv[++i];
          return true;
        }
      }
      arg = argv[i];
      return false;
    };
    std::string text;
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (value("--emit", text)) {
      auto kind = llvm::StringSwitch<std::optional<EmitKind>>(text)
                      .Case("traced", EmitKind::Traced)
                      .Case("mlir", EmitKind::Mlir)
                      .Case("memref", EmitKind::Memref)
                      .Case("llvm", EmitKind::Llvm)
                      .Case("asm", EmitKind::Asm)
                      .Case("obj", EmitKind::Obj)
                      .Case("header", EmitKind::Header)
                      .Case("ptx", EmitKind::Ptx)
                      .Case("memory-report", EmitKind::MemoryReport)
                      .Default(std::nullopt);
      if (!kind) {
        error = "unknown --emit kind '" + text +
                "' (expected traced, mlir, "
                "memref, llvm, asm, obj, header, ptx or memory-report)";
        return false;
      }
      options.emit = *kind;
      emitGiven = true;
    } else if (value("-o", options.output) ||
               value("--header", options.header) ||
               value("--mlir-output", options.mlirOutput) ||
               value("--target", options.target.triple) ||
               value("--mcpu", options.target.cpu) ||
               value("--mattr", options.target.features)) {
    } else if (value("--memory-budget", text)) {
      options.memoryBudget = parseByteSize(text);
      if (!options.memoryBudget || *options.memoryBudget <= 0) {
        error = "invalid --memory-budget '" + text +
                "' (expected a positive byte count with an optional B, KiB "
                "or MiB suffix, e.g. 262144, 256KiB, 1MiB)";
        return false;
      }
    } else if (value("--float-abi", text)) {
      if (text != "soft" && text != "softfp" && text != "hard") {
        error = "unknown --float-abi '" + text +
                "' (expected soft, softfp or hard)";
        return false;
      }
      options.target.floatABI = text;
    } else if (value("--compile-threads", text)) {
      if (llvm::StringRef(text).getAsInteger(10, options.compileThreads) ||
          options.compileThreads == 0) {
        error = "invalid --compile-threads '" + text +
                "' (expected a positive thread count)";
        return false;
      }
    } else if (arg.size() == 3 && arg.startswith("-O") && arg[2] >= '0' &&
               arg[2] <= '3') {
      options.target.optLevel = arg[2] - '0';
    } else if (arg == "--no-approx-math") {
      options.approximateMath = false;
    } else if (arg == "--deterministic") {
      options.deterministic = true;
      options.target.strictFloat = true;
    } else if (arg == "--debug-locations") {
      options.debugLocations = true;
    } else if (arg == "--timing") {
      options.timing = true;
    } else if (arg == "--check-numerics") {
      options.checkNumerics = true;
    } else if (arg == "--parallel" || arg == "--no-parallel") {
      options.parallel = arg == "--parallel";
    } else if (takesInput && (!arg.startswith("-") || arg == "-") &&
               options.input.empty()) {
      options.input = arg.str();
      continue;
    } else {
      error = "unknown argument '" + arg.str() + "'";
      return false;
    }
    options.flags.insert(options.flags.end(), argv + first, argv + i + 1);
  }
  // `kilnc model.cpp -o model.o` means an object, as it would for a C
  // compiler.
  if (!emitGiven)
    options.emit =
        llvm::StringSwitch<EmitKind>(llvm::sys::path::extension(options.output))
            .Case(".o", EmitKind::Obj)
            .Case(".s", EmitKind::Asm)
            .Case(".ll", EmitKind::Llvm)
            .Case(".h", EmitKind::Header)
            .Default(EmitKind::Mlir);
  if (takesInput && options.input.empty() && !help) {
    error = "no input file";
    return false;
  }
  if (options.deterministic && !options.approximateMath) {
    error = "--deterministic needs kiln's own exp/log (each C library "
            "rounds them differently): drop --no-approx-math";
    return false;
  }
  if ((options.emit == EmitKind::Obj) && options.output == "-") {
    error = "--emit=obj needs an output file (-o FILE)";
    return false;
  }
  return true;
}

namespace {
std::unique_ptr<llvm::ToolOutputFile> openOutput(const std::string &path,
                                                 bool binary) {
  std::error_code ec;
  auto file = std::make_unique<llvm::ToolOutputFile>(
      path, ec, binary ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "kiln: cannot open '" << path << "': " << ec.message()
                 << "\n";
    return nullptr;
  }
  return file;
}

/// Runs the passes `build` adds; with an enabled `timing` scope, each pass
/// is timed in a scope `name` nested in it.
LogicalResult runPipeline(ModuleOp module,
                          llvm::function_ref<void(OpPassManager &)> build,
                          TimingScope *timing = nullptr,
                          StringRef name = "") {
  PassManager pm(module.getContext());
  build(pm);
  TimingScope scope = timing ? timing->nest(name) : TimingScope();
  if (scope)
    pm.enableTiming(scope);
  return pm.run(module);
}

std::string headerGuard(ModuleOp module, const std::string &path) {
  if (auto model = module->getAttrOfType<DictionaryAttr>("kiln.model"))
    return model.getAs<StringAttr>("name").getValue().str();
  return llvm::sys::path::stem(path).str();
}

/// f32 lanes of the widest vector unit the target surely has: AVX-512 or
/// AVX2 on the host, 128-bit NEON on AArch64, none on small cores (the
/// vectorizer's output for them would only be scalarized again).
unsigned vectorWidthFor(const kiln::TargetOptions &target) {
  if (target.triple.empty()) {
    llvm::StringMap<bool> features;
    if (llvm::sys::getHostCPUFeatures(features) && features.lookup("avx512f"))
      return 16;
    return 8;
  }
  llvm::Triple triple(llvm::Triple::normalize(target.triple));
  if (triple.isAArch64())
    return 4;
  if (triple.getArch() == llvm::Triple::x86_64)
    return 8;
  return 0;
}

int writeText(const std::string &path,
              llvm::function_ref<void(llvm::raw_ostream &)> write) {
  auto out = openOutput(path, /*binary=*/false);
  if (!out)
    return 1;
  write(out->os());
  out->keep();
  return 0;
}

LogicalResult verifyInput(ModuleOp module) {
  if (failed(verify(module)))
    return failure();
  if (llvm::none_of(module.getOps<func::FuncOp>(),
                    [](func::FuncOp fn) { return !fn.isExternal(); }))
    return emitError(module.getLoc(),
                     "the input defines no function: nothing to compile (is "
                     "it an empty file?)");
  return success();
}

/// Traced kiln IR -> kiln IR with the generated backward.
LogicalResult differentiate(ModuleOp module, const kiln::DriverOptions &options,
                            TimingScope *timing = nullptr) {
  if (failed(runPipeline(module, kiln::buildKilnDifferentiatePipeline, timing,
                         "kiln-differentiate")))
    return failure();
  if (!options.checkNumerics)
    return success();
  return runPipeline(
      module,
      [](OpPassManager &pm) { pm.addPass(kiln::createKilnCheckNumerics()); },
      timing, "kiln-check-numerics");
}

/// Lanes of a convolution's chunk loop in threaded host code: one per core
/// of the 2-core machines the benchmarks run on; each lane adds a copy of
/// the chunk's buffers (at most im2col-chunk-bytes and its product) to the
/// arena.
constexpr int64_t kHostChunkLanes = 2;

/// kiln IR -> bufferized, in one planned arena. GPU kernels parallelize
/// convolutions over the whole batch and read matmul operands as stored;
/// CPU code runs convolutions in chunks and reads transposes in place.
LogicalResult bufferize(ModuleOp module, unsigned pointerBits,
                        bool recordMemoryPlan,
                        const kiln::DriverOptions &options,
                        TimingScope *timing = nullptr) {
  kiln::BufferizePipelineOptions bufferize;
  bufferize.pointerBits = pointerBits;
  bufferize.recordMemoryPlan = recordMemoryPlan;
  if (isNVPTXTarget(options.target)) {
    bufferize.useGPUKernelLayout();
  } else {
    bufferize.matmulVectorWidth = vectorWidthFor(options.target);
    // Not with --deterministic: lanes sum a weight gradient's chunks in
    // another order than the serial loop of the device targets.
    if (options.parallel.value_or(options.target.triple.empty()) &&
        !options.deterministic)
      bufferize.chunkLanes = kHostChunkLanes;
  }
  return runPipeline(
      module,
      [&](OpPassManager &pm) {
        kiln::buildKilnBufferizePipeline(pm, bufferize);
      },
      timing, "kiln-bufferize");
}
} // namespace

std::optional<kiln::MemoryPlan> kiln::planMemory(ModuleOp module,
                                                 const DriverOptions &options) {
  if (failed(verifyInput(module)))
    return std::nullopt;
  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      createTargetMachine(options.target, error);
  if (!machine) {
    llvm::errs() << "kiln: " << error << "\n";
    return std::nullopt;
  }
  if (failed(differentiate(module, options)) ||
      failed(bufferize(module, machine->getPointerSizeInBits(/*AS=*/0),
                       /*recordMemoryPlan=*/true, options)))
    return std::nullopt;
  return takeMemoryPlan(module);
}

int kiln::runDriver(ModuleOp module, const DriverOptions &options) {
  if (failed(verifyInput(module)))
    return 1;
  // --timing: one report on stderr when the manager goes out of scope, MLIR's
  // passes and LLVM's phases nested under the root.
  DefaultTimingManager timingManager;
  timingManager.setEnabled(options.timing);
  timingManager.setDisplayMode(DefaultTimingManager::DisplayMode::Tree);
  TimingScope timing = timingManager.getRootScope();
  // The target comes first: bad --target/--mcpu/--mattr/--float-abi fail
  // before any work, and the memory plan needs the pointer width.
  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      createTargetMachine(options.target, error);
  if (!machine) {
    llvm::errs() << "kiln: " << error << "\n";
    return 1;
  }
  auto print = [&](llvm::raw_ostream &os) {
    OpPrintingFlags flags;
    if (options.debugLocations)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false)
          .useLocalScope();
    module.print(os, flags);
  };
  if (options.emit == EmitKind::Traced)
    return writeText(options.output, print);

  if (failed(differentiate(module, options, &timing)))
    return 1;
  if (options.emit == EmitKind::Mlir)
    return writeText(options.output, print);
  if (!options.mlirOutput.empty())
    if (int status = writeText(options.mlirOutput, print))
      return status;

  bool recordMemoryPlan =
      options.emit == EmitKind::MemoryReport || options.memoryBudget;
  if (failed(bufferize(module, machine->getPointerSizeInBits(/*AS=*/0),
                       recordMemoryPlan, options, &timing)))
    return 1;
  if (recordMemoryPlan) {
    MemoryPlan plan = takeMemoryPlan(module);
    if (options.memoryBudget && plan.arenaBytes > *options.memoryBudget) {
      explainOverBudget(plan, *options.memoryBudget, options.budgetAttempt,
                        llvm::errs());
      return 1;
    }
    if (options.emit == EmitKind::MemoryReport)
      return writeText(options.output, [&](llvm::raw_ostream &os) {
        printMemoryReport(plan, os);
      });
  }
  if (options.emit == EmitKind::Memref)
    return writeText(options.output, print);
  FailureOr<ModuleAbi> abi = extractAbi(module);
  if (failed(abi))
    return 1;
  std::string guard = headerGuard(module, options.output);
  if (isNVPTXTarget(options.target) && options.deterministic) {
    llvm::errs() << "kiln: --deterministic applies to CPU targets (the GPU "
                    "kernels' reductions have their own order)\n";
    return 1;
  }
  if (isNVPTXTarget(options.target))
    return runNVPTXDriver(module, options, *abi, guard);
  if (options.emit == EmitKind::Ptx) {
    llvm::errs() << "kiln: --emit=ptx needs --target=nvptx64-nvidia-cuda\n";
    return 1;
  }
  auto header = [&](llvm::raw_ostream &os) { emitCHeader(*abi, guard, os); };
  if (options.emit == EmitKind::Header)
    return writeText(options.output, header);

  CPUPipelineOptions cpu;
  cpu.approximateMath = options.approximateMath;
  cpu.vectorWidth = vectorWidthFor(options.target);
  cpu.parallel = options.parallel.value_or(options.target.triple.empty());
  cpu.deterministic = options.deterministic;
  if (failed(runPipeline(
          module,
          [&](OpPassManager &pm) { buildKilnLowerToLLVMPipeline(pm, cpu); },
          &timing, "kiln-lower-to-llvm")))
    return 1;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateAndOptimize(
      module, llvmContext, *machine, options.target.optLevel, &timing,
      options.compileThreads);
  if (!llvmModule) {
    llvm::errs() << "kiln: translation to LLVM IR failed\n";
    return 1;
  }
  if (options.emit == EmitKind::Llvm)
    return writeText(options.output,
                     [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });

  bool assembly = options.emit == EmitKind::Asm;
  auto out = openOutput(options.output, !assembly);
  if (!out || failed(emitMachineCode(*llvmModule, *machine, assembly,
                                     out->os(), &timing))) {
    llvm::errs() << "kiln: code generation failed\n";
    return 1;
  }
  out->keep();
  if (assembly)
    return 0;
  return writeText(headerPathFor(options), header);
}

std::string kiln::headerPathFor(const DriverOptions &options) {
  if (!options.header.empty())
    return options.header;
  llvm::SmallString<256> path(options.output);
  llvm::sys::path::replace_extension(path, ".h");
  return path.str().str();
}
