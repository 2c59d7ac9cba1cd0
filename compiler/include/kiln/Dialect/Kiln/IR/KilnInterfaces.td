//===- KilnInterfaces.td - kiln op interfaces --------------*- tablegen -*-===//
//
// Differentiation in kiln is per op: each differentiable op builds its own
// vector-Jacobian product, and the autodiff pass only orders and accumulates.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INTERFACES
#define KILN_INTERFACES

include "mlir/IR/OpBase.td"

def Kiln_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op that can build its vector-Jacobian product (VJP): given the
    cotangent of each result, return the cotangent of each operand, or a null
    value for an operand that receives no gradient (an integer index, a mask).
    The builder's insertion point is where the backward ops must go.
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/"Builds operand cotangents from result cotangents.",
      /*retTy=*/"::llvm::SmallVector<::mlir::Value>",
      /*methodName=*/"buildVJP",
      /*args=*/(ins "::mlir::OpBuilder &":$builder,
                    "::mlir::ArrayRef<::mlir::Value>":$resultCotangents)>
  ];
}

#endif // KILN_INTERFACES
