//===- ModuleParts.h - LLVM -O3 in parts, in parallel -----------*- C++ -*-===//
//
// LLVM optimizes one module on one thread. kiln's modules are mostly
// independent functions (the OpenMP bodies of parallel loops, reached only
// through __kmpc_fork_call), so optimizeInParts splits a module into parts
// that share no direct call, optimizes each in its own LLVMContext on its
// own thread, and links the results back into one module.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGET_MODULEPARTS_H
#define KILN_TARGET_MODULEPARTS_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// Which part each function definition of a module goes to: a function and
/// every function it calls directly share a part (so that inlining, calling
/// convention changes and argument propagation see all their calls), so do
/// the functions using one internal mutable global (GlobalOpt sees all its
/// loads and stores), and the parts' instruction counts are balanced.
/// Functions referenced other than by a call (OpenMP bodies, passed to
/// __kmpc_fork_call) may go to any part.
struct ModulePartition {
  unsigned parts = 1;
  /// Part of each function definition, in module order.
  std::vector<unsigned> partOfDefinition;
  /// Part of each global variable, in module order: that of the functions
  /// using an internal mutable one, else 0.
  std::vector<unsigned> partOfVariable;
  std::vector<unsigned> instructionsPerPart;
};
ModulePartition partitionModule(const llvm::Module &module, unsigned maxParts);

/// Runs `optimizePart` on each part of `module` (partitionModule with
/// `maxParts`), each part in its own LLVMContext and on its own thread, and
/// returns the parts linked back into one module in `module`'s context, its
/// functions in their old order and with their old linkage. Globals used
/// from several parts are defined once; parts other than the owner's see
/// constants' initializers (available_externally). With one part,
/// `optimizePart` runs on `module` itself. `optimizePart` must be safe to
/// call from several threads at once (its own TargetMachine per call);
/// `part` numbers the parts from 0. Returns null with `error` set when a
/// part cannot be read back (a bug).
std::unique_ptr<llvm::Module>
optimizeInParts(std::unique_ptr<llvm::Module> module, unsigned maxParts,
                llvm::function_ref<void(llvm::Module &part, unsigned partIndex)>
                    optimizePart,
                std::string &error);

} // namespace kiln

#endif // KILN_TARGET_MODULEPARTS_H
