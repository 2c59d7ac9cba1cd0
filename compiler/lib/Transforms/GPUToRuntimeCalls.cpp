//===- GPUToRuntimeCalls.cpp - gpu.launch_func -> kiln_cuda_launch --------===//
//
// MLIR's gpu-to-llvm lowers to the mgpu* wrappers, which load the module
// and create a stream on every launch. kiln's runtime keeps one context,
// one stream and each PTX image loaded once, so a launch only needs the
// image's address, the kernel's name and the parameter values. All of them
// are known statically except the function's own pointer arguments.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUTORUNTIMECALLS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kLaunchFunction = "kiln_cuda_launch";

/// A private constant `memref<N x i8>` holding `text` and a NUL.
memref::GlobalOp createStringGlobal(OpBuilder &b, Location loc,
                                    StringRef symbol, StringRef text) {
  SmallVector<char> bytes(text.begin(), text.end());
  bytes.push_back('\0');
  auto type = MemRefType::get({int64_t(bytes.size())}, b.getI8Type());
  auto data = DenseElementsAttr::getFromRawBuffer(
      RankedTensorType::get(type.getShape(), b.getI8Type()),
      ArrayRef<char>(bytes.data(), bytes.size()));
  return b.create<memref::GlobalOp>(loc, symbol, b.getStringAttr("private"),
                                    type, data, /*constant=*/true,
                                    /*alignment=*/nullptr);
}

struct KilnGPUToRuntimeCalls
    : kiln::impl::KilnGPUToRuntimeCallsBase<KilnGPUToRuntimeCalls> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToStart(module.getBody());
    Location loc = module.getLoc();
    Type i32 = b.getI32Type(), i64 = b.getI64Type();

    auto ptx =
        module->getAttrOfType<StringAttr>(kiln::KilnDialect::getPtxAttrName());
    if (!ptx) {
      module.emitError("kiln-gpu-to-runtime-calls: no kiln.ptx (run "
                       "kiln-serialize-to-ptx first)");
      return signalPassFailure();
    }
    memref::GlobalOp image =
        createStringGlobal(b, loc, "__kiln_ptx", ptx.getValue());
    module->removeAttr(kiln::KilnDialect::getPtxAttrName());
    llvm::StringMap<memref::GlobalOp> kernelNames;
    auto launchType = b.getFunctionType({i64, i64, i32, i32, i64, i32}, {i32});
    if (!module.lookupSymbol(kLaunchFunction))
      b.create<func::FuncOp>(loc, kLaunchFunction, launchType).setPrivate();

    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    for (gpu::LaunchFuncOp launch : launches) {
      // kiln-serialize-to-ptx names each entry after its gpu.module.
      StringRef kernelName = launch.getKernelModuleName().getValue();
      std::string nameSymbol = ("__kiln_kernel_" + kernelName).str();
      if (!kernelNames.count(nameSymbol))
        kernelNames[nameSymbol] =
            createStringGlobal(b, loc, nameSymbol, kernelName);
      if (failed(
              lowerLaunch(launch, image, kernelNames[nameSymbol], launchType)))
        return signalPassFailure();
    }
    for (auto gpuModule :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>()))
      gpuModule.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }

  LogicalResult lowerLaunch(gpu::LaunchFuncOp launch, memref::GlobalOp image,
                            memref::GlobalOp kernelName,
                            FunctionType launchType) {
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    auto addressOf = [&](Value memref) -> Value {
      Value address =
          b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref);
      return b.create<arith::IndexCastOp>(loc, i64, address);
    };
    auto addressOfGlobal = [&](memref::GlobalOp global) {
      return addressOf(b.create<memref::GetGlobalOp>(loc, global.getType(),
                                                     global.getSymName()));
    };
    auto i64Constant = [&](int64_t v) -> Value {
      return b.create<arith::ConstantIntOp>(loc, v, 64);
    };

    // NVVM's kernel parameters: each memref as (allocated, aligned, offset,
    // sizes..., strides...). Only identity-layout static memrefs reach here:
    // kiln-map-to-gpu captures nothing but the function's arguments.
    SmallVector<Value> params;
    for (Value operand : launch.getKernelOperands()) {
      auto type = operand.getType().dyn_cast<MemRefType>();
      if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
        return launch.emitOpError("kiln-gpu-to-runtime-calls: kernel "
                                  "operand of type ")
               << operand.getType()
               << " (expected a static identity-layout memref)";
      Value pointer = addressOf(operand);
      params.append({pointer, pointer, i64Constant(0)});
      for (int64_t size : type.getShape())
        params.push_back(i64Constant(size));
      int64_t stride = 1;
      SmallVector<Value> strides;
      for (int64_t size : llvm::reverse(type.getShape())) {
        strides.push_back(i64Constant(stride));
        stride *= size;
      }
      params.append(strides.rbegin(), strides.rend());
    }
    auto paramsType = MemRefType::get({int64_t(params.size())}, i64);
    Value buffer = b.create<memref::AllocaOp>(loc, paramsType);
    for (auto [i, param] : llvm::enumerate(params))
      b.create<memref::StoreOp>(
          loc, param, buffer,
          ValueRange{b.create<arith::ConstantIndexOp>(loc, i)});

    auto toI32 = [&](Value index) -> Value {
      return b.create<arith::IndexCastOp>(loc, i32, index);
    };
    if (!matchPattern(launch.getGridSizeY(), m_One()) ||
        !matchPattern(launch.getGridSizeZ(), m_One()) ||
        !matchPattern(launch.getBlockSizeY(), m_One()) ||
        !matchPattern(launch.getBlockSizeZ(), m_One()))
      return launch.emitOpError("kiln-gpu-to-runtime-calls: only 1-D grids "
                                "and blocks are supported");
    b.create<func::CallOp>(
        loc, kLaunchFunction, launchType.getResults(),
        ValueRange{addressOfGlobal(image), addressOfGlobal(kernelName),
                   toI32(launch.getGridSizeX()), toI32(launch.getBlockSizeX()),
                   addressOf(buffer),
                   b.create<arith::ConstantIntOp>(loc, params.size(), 32)});
    launch.erase();
    return success();
  }
};
} // namespace
