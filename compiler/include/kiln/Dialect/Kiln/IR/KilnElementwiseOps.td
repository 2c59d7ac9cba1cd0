//===- KilnElementwiseOps.td - kiln Elementwise ops ------------------------*- tablegen -*-===//
//
// Included by KilnOps.td; uses its Kiln_Op base classes and constraints.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ELEMENTWISE_OPS
#define KILN_ELEMENTWISE_OPS

#endif // KILN_ELEMENTWISE_OPS
