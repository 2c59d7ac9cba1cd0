//===- SerializeToPTX.cpp - gpu.module -> PTX through LLVM's NVPTX --------===//
//
// MLIR 16's gpu-to-cubin needs CUDA when MLIR itself is built, and Debian's
// MLIR has none; kiln only needs PTX text (the driver JIT-compiles it when
// the module is loaded), which LLVM's NVPTX backend writes by itself.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <mutex>

namespace kiln {
#define GEN_PASS_DEF_KILNSERIALIZETOPTX
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
constexpr const char *kNVPTXTriple = "nvptx64-nvidia-cuda";

std::unique_ptr<llvm::TargetMachine>
createNVPTXMachine(const std::string &chip, const std::string &features,
                   unsigned optLevel, std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(kNVPTXTriple, error);
  if (!target)
    return nullptr;
  auto level = optLevel >= 3   ? llvm::CodeGenOpt::Aggressive
               : optLevel == 0 ? llvm::CodeGenOpt::None
                               : llvm::CodeGenOpt::Default;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      kNVPTXTriple, chip, features, {}, std::nullopt, std::nullopt, level));
  if (!machine)
    error = "cannot create an NVPTX target machine for '" + chip + "'";
  return machine;
}

struct KilnSerializeToPTX
    : kiln::impl::KilnSerializeToPTXBase<KilnSerializeToPTX> {
  using KilnSerializeToPTXBase::KilnSerializeToPTXBase;

  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<NVVM::NVVMDialect, LLVM::LLVMDialect>();
    registerLLVMDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
  }

  void runOnOperation() override {
    std::string error;
    std::unique_ptr<llvm::TargetMachine> machine =
        createNVPTXMachine(chip, features, optLevel, error);
    if (!machine) {
      getOperation().emitError("kiln-serialize-to-ptx: ") << error;
      return signalPassFailure();
    }
    ModuleOp module = getOperation();
    FailureOr<std::string> ptx = serialize(module, *machine);
    if (failed(ptx))
      return signalPassFailure();
    module->setAttr(kiln::KilnDialect::getPtxAttrName(),
                    StringAttr::get(&getContext(), *ptx));
  }

  /// One PTX image for all kernels (outlining makes a gpu.module per
  /// kernel): one module load per model.
  FailureOr<std::string> serialize(ModuleOp module,
                                   llvm::TargetMachine &machine) {
    // translateModuleToLLVMIR wants a builtin module: lend it the kernels.
    OwningOpRef<ModuleOp> kernels = ModuleOp::create(module.getLoc());
    // Outlining names every kernel after its function, and each gpu.module
    // uniquely: the module's name becomes the kernel's entry name. Globals
    // (constants) are copies of the host module's, one per kernel using
    // them: one of each is kept; shared arrays are the kernel's own.
    SymbolTable symbols(*kernels);
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      auto kernelFuncs = llvm::make_filter_range(
          gpuModule.getOps<LLVM::LLVMFuncOp>(),
          [](LLVM::LLVMFuncOp f) { return !f.isExternal(); });
      if (!llvm::hasSingleElement(kernelFuncs))
        return gpuModule.emitError("kiln-serialize-to-ptx: expected one "
                                   "kernel per gpu.module"),
               failure();
      // Shared memory is not a constant to share: convert-gpu-to-nvvm names
      // it after the kernel's function (the same in every gpu.module), so
      // it is renamed after the module, one array per kernel.
      for (auto global : gpuModule.getOps<LLVM::GlobalOp>()) {
        if (global.getAddrSpace() == 0)
          continue;
        auto unique = StringAttr::get(
            module.getContext(), gpuModule.getName() + "_" + global.getName());
        if (failed(
                SymbolTable::replaceAllSymbolUses(global, unique, gpuModule)))
          return global.emitError("kiln-serialize-to-ptx: cannot rename "
                                  "this shared array"),
                 failure();
        SymbolTable::setSymbolName(global, unique);
      }
      for (Operation &op : gpuModule.getBody()->without_terminator()) {
        bool kernel = &op == (*kernelFuncs.begin()).getOperation();
        auto name =
            op.getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName());
        if (!kernel && name && symbols.lookup(name))
          continue;
        Operation *clone = op.clone();
        if (kernel)
          SymbolTable::setSymbolName(clone, gpuModule.getName());
        if (name)
          symbols.insert(clone);
        else
          kernels->push_back(clone);
      }
    }
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule =
        translateModuleToLLVMIR(*kernels, llvmContext, "kiln_kernels");
    if (!llvmModule)
      return module.emitError("kiln-serialize-to-ptx: translation to "
                              "LLVM IR failed"),
             failure();
    llvmModule->setTargetTriple(kNVPTXTriple);
    llvmModule->setDataLayout(machine.createDataLayout());
    auto optimize =
        makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, &machine);
    if (llvm::Error err = optimize(llvmModule.get())) {
      module.emitError("kiln-serialize-to-ptx: ")
          << llvm::toString(std::move(err));
      return failure();
    }
    std::string ptx;
    {
      llvm::raw_string_ostream stream(ptx);
      llvm::buffer_ostream buffer(stream);
      llvm::legacy::PassManager pm;
      if (machine.addPassesToEmitFile(pm, buffer, nullptr,
                                      llvm::CGFT_AssemblyFile))
        return module.emitError("kiln-serialize-to-ptx: the NVPTX target "
                                "cannot emit assembly"),
               failure();
      pm.run(*llvmModule);
    }
    return ptx;
  }
};
} // namespace
