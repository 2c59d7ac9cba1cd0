//===- CompiledCode.h - a kiln module compiled and JIT-loaded --*- C++ -*-===//
//
// The compiled side of every compiled-vs-interpreter test: a kiln module run
// through the CPU pipeline (differentiate, bufferize into one arena, lower
// to LLVM), JIT-loaded, and called through its bare-pointer C ABI. The arena
// starts NaN-filled, so that scratch read before it is written shows, and is
// followed by guard bytes; every call checks that it wrote nothing past the
// arena and left its inputs alone.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_COMPILEDCODE_H
#define KILN_TESTS_UNITTESTS_COMPILEDCODE_H

#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/ABI.h"
#include "kiln/Target/JIT.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::test {

class CompiledCode {
public:
  CompiledCode() = default;
  CompiledCode(const CompiledCode &) = delete;
  CompiledCode &operator=(const CompiledCode &) = delete;
  ~CompiledCode();

  /// Compiles a copy of `module` (kiln IR, possibly with kiln.vjp); false
  /// with `error` set on failure.
  bool build(mlir::ModuleOp module, std::string &error,
             const CPUPipelineOptions &options = CPUPipelineOptions(),
             const BufferizePipelineOptions &bufferize =
                 BufferizePipelineOptions());
  /// Calls @name with its plain inputs in order (state lives in the arena);
  /// returns the plain results.
  std::vector<interp::Buffer> call(const std::string &name,
                                   const std::vector<interp::Buffer> &inputs);
  interp::Buffer readState(const std::string &name) const;
  void writeState(const std::string &name, const interp::Buffer &value);
  const ModuleAbi &abi() const { return abi_; }
  /// The compiled @name (null if absent) and the arena, for timing bare
  /// calls (bench/nn_op_bench) without call()'s argument conversions and
  /// checks, which cost more than a small op.
  void *address(const std::string &name) const {
    return jit_ ? jit_->lookup(name) : nullptr;
  }
  unsigned char *arena() const { return arena_; }

private:
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  ModuleAbi abi_;
  std::unique_ptr<JitModule> jit_;
  unsigned char *arena_ = nullptr;
  size_t allocated_ = 0;
};

} // namespace kiln::test

#endif // KILN_TESTS_UNITTESTS_COMPILEDCODE_H
