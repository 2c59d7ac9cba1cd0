//===- NVPTXDriver.h - kilnc --target=nvptx64-nvidia-cuda -------*- C++ -*-===//
#ifndef KILN_DRIVER_NVPTXDRIVER_H
#define KILN_DRIVER_NVPTXDRIVER_H

#include "kiln/Driver/Driver.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/ABI.h"

namespace kiln {

/// nvptx64-nvidia-cuda, nvptx64, nvptx64-nvidia-... (64-bit only).
bool isNVPTXTarget(const TargetOptions &target);

/// sm/ptx from --mcpu=sm_XX and --mattr=+ptxYY; false with `error` set on
/// anything LLVM 16 cannot target.
bool parseNVPTXOptions(const TargetOptions &target,
                       NVPTXPipelineOptions &options, std::string &error);

/// The C header of a GPU build: the CPU header's declarations and model
/// description, plus the device arena size and the device-pointer ABI.
void emitNVPTXHeader(const ModuleAbi &abi, llvm::StringRef guard,
                     const NVPTXPipelineOptions &options,
                     llvm::raw_ostream &os);

/// Compiles a planned module (after kiln-bufferize) for NVPTX and writes
/// what options.emit asks for: ptx (the kernels), llvm/asm/obj (the host
/// side, for the host triple) and, with obj, the header. Returns an exit
/// code.
int runNVPTXDriver(mlir::ModuleOp module, const DriverOptions &options,
                   const ModuleAbi &abi, llvm::StringRef guard);

} // namespace kiln

#endif // KILN_DRIVER_NVPTXDRIVER_H
