//===- KilnDialect.td - kiln dialect definition ------------*- tablegen -*-===//
//
// The kiln dialect: value-semantics ops on ranked, static-shape tensors,
// produced by tracing the C++ DSL and differentiated symbolically.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT
#define KILN_DIALECT

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "Tensor ops traced from kiln's C++ DSL";
  let description = [{
    Ops on ranked tensors with static shapes. Every op infers or verifies its
    result shape so that errors point at the traced user source location.
    Differentiable ops implement `Kiln_DifferentiableOpInterface`.
  }];
  let cppNamespace = "::kiln";
  let useFoldAPI = kEmitFoldAdaptorFolder;
  let hasConstantMaterializer = 1;
  // The discardable attributes below (see verifyOperationAttribute).
  let hasOperationAttrVerify = 1;
  // The discardable kiln.* attributes the DSL, the passes and the ABI
  // exchange, named once here (ODS's discardableAttrs is newer than MLIR 16).
  let extraClassDeclaration = [{
    /// On the module: the model's name, batch size, class count, input
    /// shape, default learning rate and task (a dictionary).
    static constexpr ::llvm::StringLiteral getModelAttrName() {
      return ::llvm::StringLiteral("kiln.model");
    }
    /// On a function: the state name of each argument ("" for a plain
    /// input), an array of strings.
    static constexpr ::llvm::StringLiteral getStateArgsAttrName() {
      return ::llvm::StringLiteral("kiln.state_args");
    }
    /// On a function: the state name of each result ("" for a plain
    /// output), an array of strings.
    static constexpr ::llvm::StringLiteral getStateResultsAttrName() {
      return ::llvm::StringLiteral("kiln.state_results");
    }
    /// On a function: the state results that are observations (hooks.h),
    /// an array of strings.
    static constexpr ::llvm::StringLiteral getObservationsAttrName() {
      return ::llvm::StringLiteral("kiln.observations");
    }
    /// On a function after the memory plan: how many trailing arguments are
    /// outputs, an integer.
    static constexpr ::llvm::StringLiteral getNumOutputsAttrName() {
      return ::llvm::StringLiteral("kiln.num_outputs");
    }
    /// On the module after the memory plan: each state buffer's name,
    /// offset and type (and `observation`), an array of dictionaries.
    static constexpr ::llvm::StringLiteral getStateLayoutAttrName() {
      return ::llvm::StringLiteral("kiln.state_layout");
    }
    /// On the module after the memory plan: the bytes of state at the
    /// arena's start, an integer.
    static constexpr ::llvm::StringLiteral getStateBytesAttrName() {
      return ::llvm::StringLiteral("kiln.state_bytes");
    }
    /// On the module after the memory plan: the arena's size, an integer.
    static constexpr ::llvm::StringLiteral getArenaBytesAttrName() {
      return ::llvm::StringLiteral("kiln.arena_bytes");
    }
    /// On the module after kiln-check-numerics: the source site of each
    /// checked op, an array of strings.
    static constexpr ::llvm::StringLiteral getNumericsSitesAttrName() {
      return ::llvm::StringLiteral("kiln.numerics_sites");
    }
    /// On the module between serialization and the runtime calls: the GPU
    /// kernels' PTX, a string.
    static constexpr ::llvm::StringLiteral getPtxAttrName() {
      return ::llvm::StringLiteral("kiln.ptx");
    }
    /// On an affine.for between kiln-mark-parallel-loops and
    /// kiln-parallelize-marked-loops: run its iterations on threads, a unit
    /// attribute.
    static constexpr ::llvm::StringLiteral getParallelAttrName() {
      return ::llvm::StringLiteral("kiln.parallel");
    }
    /// On a convolution's chunk loop (scf.for) whose iterations write
    /// disjoint data: kiln-parallelize-chunk-loops may run it in lanes on
    /// threads, a unit attribute.
    static constexpr ::llvm::StringLiteral getChunkLanesAttrName() {
      return ::llvm::StringLiteral("kiln.chunk_lanes");
    }
    /// On a function after kiln-static-memory-plan{record-plan}: each scratch
    /// buffer's placement, an array of dictionaries (--emit=memory-report).
    static constexpr ::llvm::StringLiteral getMemoryPlanAttrName() {
      return ::llvm::StringLiteral("kiln.memory_plan");
    }
    /// Beside kiln.memory_plan: the function's scratch bytes, an integer.
    static constexpr ::llvm::StringLiteral getScratchBytesAttrName() {
      return ::llvm::StringLiteral("kiln.scratch_bytes");
    }
  }];
}

// Tensor constraints shared by the ops.
def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[I32, I64]>;
def Kiln_AnyTensor : RankedTensorOf<[AnyFloat, I32, I64]>;

#endif // KILN_DIALECT
