//===- KilnLayoutOps.td - kiln Layout ops ------------------------*- tablegen -*-===//
//
// Included by KilnOps.td; uses its Kiln_Op base classes and constraints.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LAYOUT_OPS
#define KILN_LAYOUT_OPS

#endif // KILN_LAYOUT_OPS
