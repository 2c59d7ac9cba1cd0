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
  // kiln.model and the state name lists (see verifyOperationAttribute).
  let hasOperationAttrVerify = 1;
}

// Tensor constraints shared by the ops.
def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[I32, I64]>;
def Kiln_AnyTensor : RankedTensorOf<[AnyFloat, I32, I64]>;

#endif // KILN_DIALECT
