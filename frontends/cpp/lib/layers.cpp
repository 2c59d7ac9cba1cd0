//===- layers.cpp - kiln C++ DSL: layers ------------------------------------------===//

#include "kiln/dsl/layers.h"
