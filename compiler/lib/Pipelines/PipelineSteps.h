//===- PipelineSteps.h - pass steps the CPU and GPU pipelines share -*- C++ -*-===//
//
// Internal to compiler/lib/Pipelines: the few upstream passes both
// pipelines need configured the same way.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_PIPELINES_PIPELINESTEPS_H
#define KILN_LIB_PIPELINES_PIPELINESTEPS_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace kiln {

/// convert-func-to-llvm with the bare-pointer calling convention: a memref
/// argument is one pointer, the C ABI of the generated header.
std::unique_ptr<mlir::Pass> createFuncToLLVMWithBarePointers();

} // namespace kiln

#endif // KILN_LIB_PIPELINES_PIPELINESTEPS_H
