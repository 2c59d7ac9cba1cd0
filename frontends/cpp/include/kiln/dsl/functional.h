//===- functional.h - kiln C++ DSL: functional ---------------------------------*- C++ -*-===//
#ifndef KILN_DSL_FUNCTIONAL_H
#define KILN_DSL_FUNCTIONAL_H

#include "kiln/dsl/Tensor.h"

#endif // KILN_DSL_FUNCTIONAL_H
