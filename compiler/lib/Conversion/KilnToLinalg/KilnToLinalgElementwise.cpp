//===- KilnToLinalgElementwise.cpp - lowering of the Elementwise ops -------------------===//

#include "KilnToLinalgCommon.h"

using namespace mlir;
using namespace kiln;

void lowering::populateElementwiseGroupPatterns(RewritePatternSet &patterns) {}
