//===- ParallelOptimizationTest.cpp - LLVM -O3 in parts, same object ------===//
//
// translateAndOptimize splits a module into parts optimized on their own
// threads (ModuleParts.h). The object file must not depend on the number of
// parts: a kiln program with parallel matrix products (OpenMP bodies,
// product functions, init) and a one-function module are compiled on 1 to 3
// threads and their objects compared byte for byte. The split itself is
// checked on a hand-written module: what each part defines and sees, and
// that linking the parts back restores the module exactly.
//
//===----------------------------------------------------------------------===//

#include "CompiledHarness.h"

#include "kiln/Target/LLVMTarget.h"
#include "kiln/Target/ModuleParts.h"

#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/Support/SourceMgr.h"

#include <map>

using namespace mlir;

namespace {

/// Two chained products big enough for parallel loops, plus their
/// backward: OpenMP bodies, product functions and callers in one module.
constexpr const char *kProducts = R"mlir(
func.func @f(%a: tensor<1024x300xf32>, %b: tensor<300x10xf32>,
             %c: tensor<10x64xf32>) -> tensor<1024x64xf32> {
  %0 = kiln.matmul %a, %b : tensor<1024x300xf32>, tensor<300x10xf32> -> tensor<1024x10xf32>
  %1 = kiln.matmul %0, %c : tensor<1024x10xf32>, tensor<10x64xf32> -> tensor<1024x64xf32>
  return %1 : tensor<1024x64xf32>
}
)mlir";

constexpr const char *kOneFunction = R"mlir(
llvm.func @only(%x: f32) -> f32 {
  %y = llvm.fmul %x, %x : f32
  llvm.return %y : f32
}
)mlir";

struct Compiled {
  std::string object;
  /// Defined functions and their linkage.
  std::map<std::string, llvm::GlobalValue::LinkageTypes> definitions;
};

std::unique_ptr<llvm::TargetMachine> hostMachine() {
  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      kiln::createTargetMachine(kiln::TargetOptions(), error);
  EXPECT_TRUE(machine) << error;
  return machine;
}

Compiled compile(ModuleOp module, unsigned threads) {
  std::unique_ptr<llvm::TargetMachine> machine = hostMachine();
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> optimized =
      kiln::translateAndOptimize(module, context, *machine, /*optLevel=*/3, nullptr, threads);
  EXPECT_TRUE(optimized);
  Compiled compiled;
  if (!optimized)
    return compiled;
  for (const llvm::Function &fn : *optimized)
    if (!fn.isDeclaration())
      compiled.definitions[fn.getName().str()] = fn.getLinkage();
  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream os(bytes);
  EXPECT_TRUE(succeeded(kiln::emitMachineCode(*optimized, *machine,
                                              /*assembly=*/false, os)));
  compiled.object.assign(bytes.begin(), bytes.end());
  return compiled;
}

void expectSameForThreadCounts(ModuleOp module) {
  Compiled serial = compile(module, 1);
  ASSERT_FALSE(serial.object.empty());
  for (unsigned threads : {2u, 3u}) {
    Compiled parallel = compile(module, threads);
    EXPECT_EQ(parallel.definitions, serial.definitions) << threads;
    EXPECT_TRUE(parallel.object == serial.object) << threads << " threads: the object differs";
  }
}

TEST(ParallelOptimization, ProductsGiveTheSameObjectOnAnyThreadCount) {
  MLIRContext context(kiln::test::makeRegistry());
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kProducts, &context);
  ASSERT_TRUE(module);
  PassManager pm(&context);
  kiln::CPUPipelineOptions options;
  options.parallel = true;
  options.vectorWidth = 8;
  kiln::buildKilnCPUPipeline(pm, options);
  ASSERT_TRUE(succeeded(pm.run(*module)));

  // The module does split (two parts or three: how many OpenMP bodies it
  // has depends on the fills the products absorb): OpenMP bodies apart from
  // their callers, each product with the functions calling it.
  registerLLVMDialectTranslation(context);
  registerOpenMPDialectTranslation(context);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> translated = translateModuleToLLVMIR(*module, llvmContext);
  ASSERT_TRUE(translated);
  kiln::ModulePartition partition = kiln::partitionModule(*translated, 3);
  EXPECT_GE(partition.parts, 2u);
  std::map<std::string, unsigned> partOf;
  unsigned index = 0;
  for (const llvm::Function &fn : *translated)
    if (!fn.isDeclaration())
      partOf[fn.getName().str()] = partition.partOfDefinition[index++];
  unsigned products = 0;
  for (auto &[name, part] : partOf)
    if (llvm::StringRef(name).startswith("kiln_matmul_") &&
        !llvm::StringRef(name).contains("omp_par")) {
      ++products;
      EXPECT_EQ(part, partOf["f"]) << name;
    }
  EXPECT_GE(products, 2u);

  expectSameForThreadCounts(*module);
}

TEST(ParallelOptimization, OneFunctionModule) {
  MLIRContext context(kiln::test::makeRegistry());
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kOneFunction, &context);
  ASSERT_TRUE(module);
  Compiled compiled = compile(*module, 4);
  EXPECT_EQ(compiled.definitions.size(), 1u);
  EXPECT_EQ(compiled.definitions["only"], llvm::GlobalValue::ExternalLinkage);
  expectSameForThreadCounts(*module);
}

/// A private constant read from two OpenMP-style bodies that go to
/// different parts, an internal helper called by the step, bodies passed
/// only by address, an unnamed private global, internal mutable globals
/// used by one function each.
constexpr const char *kSplitModule = R"ll(
@table = private unnamed_addr constant [4 x float] [float 1.0, float 2.0, float 3.0, float 4.0]
@0 = private unnamed_addr constant [2 x ptr] [ptr @table, ptr @table]
@counter = internal global i32 0
@hits = internal global i32 0

declare void @fork(ptr, ptr)

define internal void @body1(ptr %out) {
  %p = getelementptr [4 x float], ptr @table, i64 0, i64 1
  %v = load float, ptr %p
  store float %v, ptr %out
  ret void
}

define internal void @body2(ptr %out) {
  %p = getelementptr [4 x float], ptr @table, i64 0, i64 2
  %v = load float, ptr %p
  store float %v, ptr %out
  %t = load ptr, ptr @0
  store ptr %t, ptr %out
  store i32 1, ptr @hits
  ret void
}

define internal void @helper(ptr %out) {
  %c = load i32, ptr @counter
  %d = add i32 %c, 1
  store i32 %d, ptr @counter
  ret void
}

define void @step(ptr %out) {
  call void @fork(ptr @body1, ptr %out)
  call void @fork(ptr @body2, ptr %out)
  call void @helper(ptr %out)
  ret void
}
)ll";

std::string print(const llvm::Module &module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  return text;
}

TEST(ParallelOptimization, SplitAndLinkRestoresTheModule) {
  llvm::LLVMContext context;
  llvm::SMDiagnostic diagnostic;
  std::unique_ptr<llvm::Module> module =
      llvm::parseAssemblyString(kSplitModule, diagnostic, context);
  ASSERT_TRUE(module) << diagnostic.getMessage().str();
  std::string before = print(*module);

  // Per part: the functions it defines, how it sees @table, whether it
  // defines @hits (body2's).
  std::vector<std::vector<std::string>> defined(3);
  std::vector<std::string> table(3);
  std::vector<bool> hits(3);
  std::string error;
  std::unique_ptr<llvm::Module> linked = kiln::optimizeInParts(
      std::move(module), 3,
      [&](llvm::Module &part, unsigned index) {
        for (const llvm::Function &fn : part)
          if (!fn.isDeclaration())
            defined[index].push_back(fn.getName().str());
        for (const llvm::GlobalVariable &variable : part.globals())
          if (variable.getName().startswith("table"))
            table[index] = variable.isDeclaration()                   ? "declaration"
                           : variable.hasAvailableExternallyLinkage() ? "available_externally"
                                                                      : "definition";
        const llvm::GlobalVariable *counter = part.getNamedGlobal("hits");
        hits[index] = counter && !counter->isDeclaration();
      },
      error);
  ASSERT_TRUE(linked) << error;
  // step and helper together (a call), the bodies alone, heaviest first;
  // constants in part 0.
  std::vector<std::vector<std::string>> expected = {{"step", "helper"}, {"body2"}, {"body1"}};
  std::vector<std::string> tableSeen = {"definition", "available_externally",
                                        "available_externally"};
  std::sort(defined[0].begin(), defined[0].end(), std::greater<>());
  EXPECT_EQ(defined, expected);
  EXPECT_EQ(table, tableSeen);
  EXPECT_EQ(hits, std::vector<bool>({false, true, false}));
  // Nothing was optimized: the linked module is the module as it was,
  // private and internal linkage, names, unnamed globals and order.
  EXPECT_EQ(print(*linked), before);
}

TEST(ParallelOptimization, FunctionsSharingAMutableGlobalStayTogether) {
  llvm::LLVMContext context;
  llvm::SMDiagnostic diagnostic;
  std::unique_ptr<llvm::Module> module = llvm::parseAssemblyString(R"ll(
@shared = internal global i32 0
define void @set() {
  store i32 1, ptr @shared
  ret void
}
define i32 @get() {
  %v = load i32, ptr @shared
  ret i32 %v
}
)ll",
                                                                   diagnostic, context);
  ASSERT_TRUE(module) << diagnostic.getMessage().str();
  EXPECT_EQ(kiln::partitionModule(*module, 2).parts, 1u);
}

} // namespace
