//===- functional.cpp - kiln C++ DSL: functional ------------------------------------------===//

#include "kiln/dsl/functional.h"
