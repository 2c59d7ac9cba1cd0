//===- ModuleParts.cpp - optimize an LLVM module in parts, in parallel ----===//
//
// A part travels to its thread as bitcode: an LLVMContext is used by one
// thread at a time, so the whole module is written to memory once (with
// its use-list order), each worker reads it into its own context, turns
// the other parts' functions into declarations (keepPart), optimizes what
// is left and writes it back, and the results are linked into the
// module's context. Part 0 is the module itself, optimized on the calling
// thread.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/ModuleParts.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Instructions.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <numeric>
#include <thread>

using namespace llvm;

namespace {
/// The functions whose instructions use `value`, directly or through
/// constant expressions; `fromData` is set when a global's initializer
/// refers to it.
void collectUsingFunctions(const Value *value,
                           SmallVectorImpl<const Function *> &functions,
                           bool &fromData) {
  for (const User *user : value->users()) {
    if (const auto *inst = dyn_cast<Instruction>(user))
      functions.push_back(inst->getFunction());
    else if (isa<GlobalValue>(user))
      fromData = true;
    else
      collectUsingFunctions(user, functions, fromData);
  }
}

/// Internal mutable globals: their users, or null where an initializer
/// refers to one (it then stays with part 0's data).
std::vector<const Function *>
userOfEachVariable(const Module &module,
                   EquivalenceClasses<const Function *> &together) {
  std::vector<const Function *> user;
  for (const GlobalVariable &variable : module.globals()) {
    SmallVector<const Function *> functions;
    bool fromData = false;
    if (variable.hasLocalLinkage() && !variable.isConstant())
      collectUsingFunctions(&variable, functions, fromData);
    for (const Function *fn : functions)
      together.unionSets(functions.front(), fn);
    user.push_back(fromData || functions.empty() ? nullptr : functions.front());
  }
  return user;
}
} // namespace

kiln::ModulePartition kiln::partitionModule(const Module &module,
                                            unsigned maxParts) {
  std::vector<const Function *> definitions;
  DenseMap<const Function *, unsigned> indexOf;
  EquivalenceClasses<const Function *> together;
  for (const Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    indexOf[&fn] = definitions.size();
    definitions.push_back(&fn);
    together.insert(&fn);
  }
  for (const Function *fn : definitions)
    for (const BasicBlock &block : *fn)
      for (const Instruction &inst : block)
        if (const auto *call = dyn_cast<CallBase>(&inst))
          if (const auto *callee = dyn_cast<Function>(
                  call->getCalledOperand()->stripPointerCasts()))
            if (!callee->isDeclaration())
              together.unionSets(fn, callee);
  std::vector<const Function *> userOfVariable =
      userOfEachVariable(module, together);

  // Groups of functions that must stay together, heaviest first (ties in
  // module order), each into the lightest part so far.
  struct Group {
    const Function *leader;
    unsigned firstIndex;
    unsigned instructions = 0;
  };
  std::vector<Group> groups;
  DenseMap<const Function *, unsigned> groupOfLeader;
  for (const Function *fn : definitions) {
    const Function *leader = together.getLeaderValue(fn);
    auto [it, inserted] = groupOfLeader.try_emplace(leader, groups.size());
    if (inserted)
      groups.push_back({leader, indexOf[fn]});
    groups[it->second].instructions += fn->getInstructionCount();
  }
  // Aliases, and definitions that the optimizer may drop or replace
  // (linkonce, weak, available_externally), could leave another part's
  // reference dangling: such a module (kiln makes none) stays whole.
  bool splittable =
      module.alias_empty() && module.ifunc_empty() &&
      llvm::all_of(module.global_values(), [](const GlobalValue &global) {
        return global.isDeclaration() || global.hasExternalLinkage() ||
               global.hasLocalLinkage() || global.hasAppendingLinkage();
      });
  ModulePartition partition;
  partition.parts =
      splittable
          ? std::max(1u, std::min<unsigned>(
                             maxParts, static_cast<unsigned>(groups.size())))
          : 1;
  partition.instructionsPerPart.assign(partition.parts, 0);
  std::vector<unsigned> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return groups[a].instructions > groups[b].instructions;
  });
  DenseMap<const Function *, unsigned> partOfLeader;
  for (unsigned group : order) {
    auto lightest = std::min_element(partition.instructionsPerPart.begin(),
                                     partition.instructionsPerPart.end());
    *lightest += groups[group].instructions;
    partOfLeader[groups[group].leader] =
        lightest - partition.instructionsPerPart.begin();
  }
  for (const Function *fn : definitions)
    partition.partOfDefinition.push_back(
        partOfLeader[together.getLeaderValue(fn)]);
  for (const Function *user : userOfVariable)
    partition.partOfVariable.push_back(
        user ? partOfLeader[together.getLeaderValue(user)] : 0);
  return partition;
}

namespace {
/// A global that was local (internal or private) before the split and is
/// made external for it, because another part uses it.
struct Externalized {
  std::string name;
  GlobalValue::LinkageTypes linkage;
  GlobalValue::VisibilityTypes visibility;
  bool wasUnnamed;
};

/// Adds to `parts` the parts whose code refers to `value`: through an
/// instruction, or through a constant global's initializer, which every
/// part using that global gets a copy of.
void collectUsingParts(const Value *value,
                       const DenseMap<const GlobalValue *, unsigned> &owner,
                       SmallPtrSetImpl<const Value *> &visited,
                       SmallSetVector<unsigned, 4> &parts) {
  if (!visited.insert(value).second)
    return;
  for (const User *user : value->users()) {
    if (const auto *inst = dyn_cast<Instruction>(user)) {
      parts.insert(owner.lookup(inst->getFunction()));
    } else if (const auto *global = dyn_cast<GlobalValue>(user)) {
      parts.insert(owner.lookup(global));
      if (const auto *variable = dyn_cast<GlobalVariable>(global))
        if (variable->isConstant())
          collectUsingParts(variable, owner, visited, parts);
    } else {
      collectUsingParts(user, owner, visited, parts);
    }
  }
}

/// Keeps of `module` only what part `part` defines: the other parts'
/// functions and global variables become declarations, except constants,
/// which keep their initializer (available_externally) so that loads from
/// them fold as in the whole module. Removing bodies keeps the order of the
/// remaining uses, which LLVM's results can depend on (a clone would not).
void keepPart(Module &module, unsigned part,
              const kiln::ModulePartition &partition) {
  unsigned definitionIndex = 0;
  for (Function &fn : module)
    if (!fn.isDeclaration() &&
        partition.partOfDefinition[definitionIndex++] != part) {
      fn.deleteBody();
      fn.setComdat(nullptr);
    }
  if (part != 0)
    module.setModuleInlineAsm("");
  for (auto [variable, home] :
       llvm::zip(module.globals(), partition.partOfVariable)) {
    if (variable.isDeclaration() || home == part)
      continue;
    if (!variable.use_empty() && variable.isConstant() &&
        !variable.hasLocalLinkage() && variable.hasDefinitiveInitializer()) {
      variable.setLinkage(GlobalValue::AvailableExternallyLinkage);
      continue;
    }
    variable.setInitializer(nullptr);
    variable.setLinkage(GlobalValue::ExternalLinkage);
    variable.setComdat(nullptr);
  }
  for (GlobalVariable &variable : llvm::make_early_inc_range(module.globals()))
    if (variable.isDeclaration() && variable.use_empty())
      variable.eraseFromParent();
  for (Function &fn : llvm::make_early_inc_range(module))
    if (fn.isDeclaration() && fn.use_empty() && !fn.isIntrinsic())
      fn.eraseFromParent();
}

/// Gives the linked module its functions' and globals' order from before
/// the split (the object file's layout), their old linkage, and drops the
/// locals that no part uses any more (GlobalDCE did on the whole module).
void restore(Module &linked, const std::vector<std::string> &functionOrder,
             const std::vector<std::string> &globalOrder,
             const std::vector<Externalized> &externalized) {
  // Declarations that optimization added (intrinsics) after the rest, as
  // LLVM appends them to the whole module.
  std::vector<Function *> functions;
  for (const std::string &name : functionOrder)
    if (Function *fn = linked.getFunction(name))
      functions.push_back(fn);
  SmallPtrSet<Function *, 32> known(functions.begin(), functions.end());
  for (Function &fn : linked)
    if (!known.contains(&fn))
      functions.push_back(&fn);
  for (Function *fn : functions) {
    fn->removeFromParent();
    linked.getFunctionList().push_back(fn);
  }
  std::vector<GlobalVariable *> variables;
  for (const std::string &name : globalOrder)
    if (GlobalVariable *variable = linked.getGlobalVariable(name, true))
      variables.push_back(variable);
  for (GlobalVariable *variable : variables) {
    variable->removeFromParent();
    linked.getGlobalList().push_back(variable);
  }
  std::vector<GlobalValue *> restored;
  for (const Externalized &local : externalized) {
    GlobalValue *global = linked.getNamedValue(local.name);
    if (!global)
      continue;
    global->setLinkage(local.linkage);
    global->setVisibility(local.visibility);
    if (local.wasUnnamed)
      global->setName("");
    restored.push_back(global);
  }
  // A constant the parts folded away, an OpenMP body whose fork was
  // removed: unused now, as on the whole module. Users first.
  for (bool erased = true; erased;) {
    erased = false;
    for (GlobalValue *&global : restored) {
      if (!global)
        continue;
      global->removeDeadConstantUsers();
      if (global->use_empty()) {
        global->eraseFromParent();
        global = nullptr;
        erased = true;
      }
    }
  }
}
} // namespace

std::unique_ptr<Module> kiln::optimizeInParts(
    std::unique_ptr<Module> module, unsigned maxParts,
    function_ref<void(Module &part, unsigned partIndex)> optimizePart,
    std::string &error) {
  ModulePartition partition = partitionModule(*module, maxParts);
  if (partition.parts <= 1) {
    optimizePart(*module, 0);
    return module;
  }
  // Each function definition and global variable belongs to its part.
  DenseMap<const GlobalValue *, unsigned> owner;
  unsigned definitionIndex = 0;
  for (const Function &fn : *module)
    if (!fn.isDeclaration())
      owner[&fn] = partition.partOfDefinition[definitionIndex++];
  for (auto [variable, home] :
       llvm::zip(module->globals(), partition.partOfVariable))
    owner[&variable] = home;

  std::vector<Externalized> externalized;
  unsigned unnamedCount = 0;
  for (GlobalValue &global : module->global_values()) {
    if (!global.hasLocalLinkage() || global.isDeclaration())
      continue;
    SmallPtrSet<const Value *, 8> visited;
    SmallSetVector<unsigned, 4> parts;
    collectUsingParts(&global, owner, visited, parts);
    unsigned home = owner.lookup(&global);
    if (llvm::all_of(parts, [&](unsigned part) { return part == home; }))
      continue;
    bool wasUnnamed = !global.hasName();
    if (wasUnnamed)
      global.setName("kiln.part.unnamed." + Twine(unnamedCount++));
    externalized.push_back({global.getName().str(), global.getLinkage(),
                            global.getVisibility(), wasUnnamed});
    global.setLinkage(GlobalValue::ExternalLinkage);
    global.setVisibility(GlobalValue::HiddenVisibility);
  }
  std::vector<std::string> functionOrder, globalOrder;
  for (const Function &fn : *module)
    functionOrder.push_back(fn.getName().str());
  for (const GlobalVariable &variable : module->globals())
    if (variable.hasName())
      globalOrder.push_back(variable.getName().str());

  // Every part starts from the whole module (bitcode with its use-list
  // order, read on the part's thread) and drops the others' code; part 0
  // is `module` itself, optimized on this thread.
  SmallVector<char, 0> whole;
  {
    raw_svector_ostream os(whole);
    WriteBitcodeToFile(*module, os, /*ShouldPreserveUseListOrder=*/true);
  }
  MemoryBufferRef wholeBitcode(StringRef(whole.data(), whole.size()), "whole");
  std::vector<SmallVector<char, 0>> optimized(partition.parts);
  std::vector<std::string> errors(partition.parts);
  std::vector<std::thread> workers;
  for (unsigned part = 1; part < partition.parts; ++part)
    workers.emplace_back([&, part] {
      LLVMContext context;
      Expected<std::unique_ptr<Module>> parsed =
          parseBitcodeFile(wholeBitcode, context);
      if (!parsed) {
        errors[part] = toString(parsed.takeError());
        return;
      }
      keepPart(**parsed, part, partition);
      optimizePart(**parsed, part);
      raw_svector_ostream os(optimized[part]);
      WriteBitcodeToFile(**parsed, os, /*ShouldPreserveUseListOrder=*/true);
    });
  keepPart(*module, 0, partition);
  optimizePart(*module, 0);
  for (std::thread &worker : workers)
    worker.join();

  std::unique_ptr<Module> linked = std::move(module);
  for (unsigned part = 1; part < partition.parts; ++part) {
    if (!errors[part].empty()) {
      error = "part " + std::to_string(part) + ": " + errors[part];
      return nullptr;
    }
    MemoryBufferRef bytes(
        StringRef(optimized[part].data(), optimized[part].size()), "part");
    Expected<std::unique_ptr<Module>> parsed =
        parseBitcodeFile(bytes, linked->getContext());
    if (!parsed) {
      error = toString(parsed.takeError());
      return nullptr;
    }
    if (Linker::linkModules(*linked, std::move(*parsed))) {
      error = "cannot link part " + std::to_string(part);
      return nullptr;
    }
  }
  restore(*linked, functionOrder, globalOrder, externalized);
  return linked;
}
