//===- init.cpp - kiln C++ DSL: init ------------------------------------------===//

#include "kiln/dsl/init.h"
