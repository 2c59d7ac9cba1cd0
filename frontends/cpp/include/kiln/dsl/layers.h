//===- layers.h - kiln C++ DSL: layers ---------------------------------*- C++ -*-===//
#ifndef KILN_DSL_LAYERS_H
#define KILN_DSL_LAYERS_H

#include "kiln/dsl/Tensor.h"

#endif // KILN_DSL_LAYERS_H
