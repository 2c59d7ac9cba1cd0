//===- KilnToLinalgNN.cpp - lowering of the NN ops -------------------===//

#include "KilnToLinalgCommon.h"

using namespace mlir;
using namespace kiln;

void lowering::populateNNGroupPatterns(RewritePatternSet &patterns) {}
