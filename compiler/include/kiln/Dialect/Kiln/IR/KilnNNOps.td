//===- KilnNNOps.td - kiln NN ops ------------------------*- tablegen -*-===//
//
// Included by KilnOps.td; uses its Kiln_Op base classes and constraints.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_NN_OPS
#define KILN_NN_OPS

#endif // KILN_NN_OPS
