//===- KilnElementwiseOps.cpp - shape rules and VJPs of the Elementwise ops ------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;
