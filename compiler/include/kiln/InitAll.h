//===- InitAll.h - register every kiln dialect and pass ---------*- C++ -*-===//
//
// One place that knows every dialect and pass kiln tools may meet, so
// kiln-opt, kilnc and the DSL agree on what a module may contain.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_INITALL_H
#define KILN_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace kiln {
/// Adds the kiln dialect and the upstream dialects kiln lowers through.
void registerAllDialects(mlir::DialectRegistry &registry);
/// Registers kiln's passes and pipelines (and the upstream passes they use)
/// with the global pass registry, for kiln-opt and --pass-pipeline.
void registerAllPasses();
} // namespace kiln

#endif // KILN_INITALL_H
