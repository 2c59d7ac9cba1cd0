//===- KilnToLinalgLayout.cpp - lowering of the Layout ops -------------------===//

#include "KilnToLinalgCommon.h"

using namespace mlir;
using namespace kiln;

void lowering::populateLayoutGroupPatterns(RewritePatternSet &patterns) {}
