//===- init.h - kiln C++ DSL: init ---------------------------------*- C++ -*-===//
#ifndef KILN_DSL_INIT_H
#define KILN_DSL_INIT_H

#include "kiln/dsl/Tensor.h"

#endif // KILN_DSL_INIT_H
