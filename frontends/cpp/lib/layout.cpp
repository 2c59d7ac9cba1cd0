//===- layout.cpp - kiln C++ DSL: layout ------------------------------------------===//

#include "kiln/dsl/layout.h"
