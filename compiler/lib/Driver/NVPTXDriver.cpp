//===- NVPTXDriver.cpp - kilnc --target=nvptx64-nvidia-cuda ---------------===//
//
// A GPU build produces two things from one module: PTX for the device
// (embedded) and a host object for the machine kilnc runs on, whose
// functions enqueue the kernels through kiln's CUDA runtime.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/NVPTXDriver.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/Triple.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

bool kiln::isNVPTXTarget(const TargetOptions &target) {
  return !target.triple.empty() &&
         llvm::Triple(llvm::Triple::normalize(target.triple)).getArch() ==
             llvm::Triple::nvptx64;
}

bool kiln::parseNVPTXOptions(const TargetOptions &target,
                             NVPTXPipelineOptions &options,
                             std::string &error) {
  llvm::StringRef cpu = target.cpu;
  if (!cpu.empty()) {
    unsigned sm = 0;
    if (!cpu.consume_front("sm_") || cpu.getAsInteger(10, sm) ||
        (sm != 80 && sm != 86 && sm != 89 && sm != 90)) {
      error = "--mcpu='" + target.cpu +
              "' for nvptx64: expected sm_80, sm_86, sm_89 or sm_90";
      return false;
    }
    options.sm = sm;
  }
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(target.features).split(features, ',', -1, false);
  for (llvm::StringRef feature : features) {
    // kiln's own feature, not LLVM's: tensor-core matmuls.
    if (feature == "+tf32" || feature == "-tf32") {
      options.tf32 = feature == "+tf32";
      continue;
    }
    unsigned ptx = 0;
    if (!feature.consume_front("+ptx") || feature.getAsInteger(10, ptx) ||
        ptx < 70 || ptx > 78) {
      error = "--mattr='" + target.features +
              "' for nvptx64: expected +ptx70 ... +ptx78 (LLVM 16's highest) "
              "and optionally +tf32";
      return false;
    }
    options.ptx = ptx;
  }
  if (options.sm == 90 && options.ptx < 78) {
    error = "sm_90 needs PTX 7.8 (+ptx78)";
    return false;
  }
  return true;
}

void kiln::emitNVPTXHeader(const ModuleAbi &abi, llvm::StringRef guard,
                           const NVPTXPipelineOptions &options,
                           llvm::raw_ostream &os) {
  // The model adapters of the CPU header pass host addresses (&lr); a GPU
  // caller stages every argument in device memory itself.
  ModuleAbi declarations = abi;
  declarations.model.reset();
  std::string text;
  llvm::raw_string_ostream cpuHeader(text);
  emitCHeader(declarations, guard, cpuHeader);
  std::string prefix = guard.upper();
  std::string gpu =
      "/* NVPTX build (nvptx64-nvidia-cuda, sm_" + std::to_string(options.sm) +
      ", PTX " + std::to_string(options.ptx / 10) + "." +
      std::to_string(options.ptx % 10) +
      (options.tf32 ? ", TF32 tensor-core matmuls" : "") +
      ").\n"
      " * Every pointer argument of the functions above is a DEVICE pointer\n"
      " * (a CUdeviceptr cast to a pointer), the arena included: allocate\n"
      " * " +
      prefix +
      "_DEVICE_ARENA_BYTES once with kiln_cuda_malloc and\n"
      " * stage inputs, the learning rate, the seed and outputs in device\n"
      " * memory (kiln_cuda_copy_to_device / kiln_cuda_copy_to_host). Each\n"
      " * function only enqueues its kernels on kiln's CUDA stream, in order,\n"
      " * and returns; kiln_cuda_synchronize() waits and returns the first\n"
      " * error. The kernels' PTX is embedded in the object and loaded once;\n"
      " * call kiln_cuda_init(0) first and link kiln_runtime\n"
      " * (kiln/runtime/cuda.h, which provides kiln_cuda_launch).\n"
      " */\n"
      "#define " +
      prefix + "_DEVICE_ARENA_BYTES " + std::to_string(abi.arenaBytes) +
      "u\n#define " + prefix + "_NVPTX_SM " + std::to_string(options.sm) +
      "\n#define " + prefix + "_NVPTX_TF32 " + (options.tf32 ? "1" : "0") +
      "\n\n";
  // Before the closing extern "C" brace.
  size_t close = text.rfind("#ifdef __cplusplus\n}");
  text.insert(close == std::string::npos ? text.size() : close, gpu);
  os << text;
}

namespace {
int writeFile(const std::string &path, bool binary,
              llvm::function_ref<bool(llvm::raw_pwrite_stream &)> write) {
  std::error_code ec;
  llvm::ToolOutputFile out(
      path, ec, binary ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "kiln: cannot open '" << path << "': " << ec.message()
                 << "\n";
    return 1;
  }
  if (!write(out.os()))
    return 1;
  out.keep();
  return 0;
}

LogicalResult run(ModuleOp module,
                  llvm::function_ref<void(OpPassManager &)> build) {
  PassManager pm(module.getContext());
  build(pm);
  return pm.run(module);
}
} // namespace

int kiln::runNVPTXDriver(ModuleOp module, const DriverOptions &options,
                         const ModuleAbi &abi, llvm::StringRef guard) {
  NVPTXPipelineOptions nvptx;
  std::string error;
  if (!parseNVPTXOptions(options.target, nvptx, error)) {
    llvm::errs() << "kiln: " << error << "\n";
    return 1;
  }
  if (options.emit == EmitKind::Header)
    return writeFile(options.output, false, [&](llvm::raw_pwrite_stream &os) {
      emitNVPTXHeader(abi, guard, nvptx, os);
      return true;
    });
  if (failed(run(module, [&](OpPassManager &pm) {
        buildKilnNVPTXKernelPipeline(pm, nvptx);
      })))
    return 1;
  if (options.emit == EmitKind::Ptx) {
    auto ptx = module->getAttrOfType<StringAttr>("kiln.ptx");
    return writeFile(options.output, false, [&](llvm::raw_pwrite_stream &os) {
      os << ptx.getValue();
      return true;
    });
  }
  if (failed(run(module, buildKilnNVPTXHostPipeline)))
    return 1;

  // The host side runs where kilnc runs.
  TargetOptions host;
  host.optLevel = options.target.optLevel;
  std::unique_ptr<llvm::TargetMachine> machine =
      createTargetMachine(host, error);
  if (!machine) {
    llvm::errs() << "kiln: " << error << "\n";
    return 1;
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(module, llvmContext, *machine, host.optLevel);
  if (!llvmModule) {
    llvm::errs() << "kiln: translation to LLVM IR failed\n";
    return 1;
  }
  if (options.emit == EmitKind::Llvm)
    return writeFile(options.output, false, [&](llvm::raw_pwrite_stream &os) {
      llvmModule->print(os, nullptr);
      return true;
    });
  bool assembly = options.emit == EmitKind::Asm;
  if (writeFile(options.output, !assembly, [&](llvm::raw_pwrite_stream &os) {
        if (succeeded(emitMachineCode(*llvmModule, *machine, assembly, os)))
          return true;
        llvm::errs() << "kiln: code generation failed\n";
        return false;
      }))
    return 1;
  if (assembly)
    return 0;
  return writeFile(headerPathFor(options), false,
                   [&](llvm::raw_pwrite_stream &os) {
                     emitNVPTXHeader(abi, guard, nvptx, os);
                     return true;
                   });
}
