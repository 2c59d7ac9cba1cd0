//===- ProgramMLIR.h - the compiler-side view of a Program ------*- C++ -*-===//
//
// For the compiler driver and tests only: exposes the MLIR module a Program
// traced into. Model sources never include this (no MLIR headers there).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_PROGRAMMLIR_H
#define KILN_DSL_PROGRAMMLIR_H

#include "kiln/dsl/Program.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace kiln::dsl::detail {
struct ProgramImpl {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  FunctionImpl *active = nullptr;
};
} // namespace kiln::dsl::detail

namespace kiln::dsl {
inline mlir::ModuleOp moduleOf(const Program &program) {
  return *program.impl().module;
}
} // namespace kiln::dsl

#endif // KILN_DSL_PROGRAMMLIR_H
