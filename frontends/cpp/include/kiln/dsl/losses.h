//===- losses.h - kiln C++ DSL: losses ---------------------------------*- C++ -*-===//
#ifndef KILN_DSL_LOSSES_H
#define KILN_DSL_LOSSES_H

#include "kiln/dsl/Tensor.h"

#endif // KILN_DSL_LOSSES_H
