//===- layout.h - kiln C++ DSL: layout ---------------------------------*- C++ -*-===//
#ifndef KILN_DSL_LAYOUT_H
#define KILN_DSL_LAYOUT_H

#include "kiln/dsl/Tensor.h"

#endif // KILN_DSL_LAYOUT_H
