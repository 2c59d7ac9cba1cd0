//===- KilnNNOps.cpp - shape rules and VJPs of the NN ops ------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;
