//===- KilnLayoutOps.cpp - shape rules and VJPs of the Layout ops ------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;
