//===- JIT.cpp - run compiled kiln code in-process ------------------------===//

#include "kiln/Target/JIT.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

using namespace mlir;

std::unique_ptr<kiln::JitModule>
kiln::JitModule::create(ModuleOp llvmDialectModule, std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  registerLLVMDialectTranslation(*llvmDialectModule.getContext());
  // Code lowered with parallel loops (a process that links libomp).
  registerOpenMPDialectTranslation(*llvmDialectModule.getContext());
  ExecutionEngineOptions options;
  options.transformer = makeOptimizingTransformer(3, 0, nullptr);
  options.jitCodeGenOptLevel = llvm::CodeGenOpt::Aggressive;
  auto engine = ExecutionEngine::create(llvmDialectModule, options);
  if (!engine) {
    error = llvm::toString(engine.takeError());
    return nullptr;
  }
  std::unique_ptr<JitModule> jit(new JitModule());
  jit->engine = std::move(*engine);
  return jit;
}

kiln::JitModule::~JitModule() = default;

void *kiln::JitModule::lookup(llvm::StringRef name) const {
  auto address = engine->lookup(name);
  if (!address) {
    llvm::consumeError(address.takeError());
    return nullptr;
  }
  return *address;
}
