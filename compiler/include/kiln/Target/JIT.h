//===- JIT.h - run compiled kiln code in-process ----------------*- C++ -*-===//
//
// Tests compare compiled code with the reference interpreter; this is how
// they run the compiled side: the same LLVM IR as an object file would hold,
// compiled in memory for the host.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGET_JIT_H
#define KILN_TARGET_JIT_H

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>

namespace mlir {
class ExecutionEngine;
}

namespace kiln {

class JitModule {
public:
  /// Compiles a module already lowered to the LLVM dialect.
  static std::unique_ptr<JitModule> create(mlir::ModuleOp llvmDialectModule,
                                           std::string &error);
  ~JitModule();

  /// Address of the function `name` (bare-pointer ABI), or null.
  void *lookup(llvm::StringRef name) const;

private:
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

} // namespace kiln

#endif // KILN_TARGET_JIT_H
