//===- losses.cpp - kiln C++ DSL: losses ------------------------------------------===//

#include "kiln/dsl/losses.h"
