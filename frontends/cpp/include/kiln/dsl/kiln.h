//===- kiln.h - the kiln C++ DSL --------------------------------*- C++ -*-===//
#ifndef KILN_DSL_KILN_H
#define KILN_DSL_KILN_H

#include "kiln/dsl/Autodiff.h"
#include "kiln/dsl/Classifier.h"
#include "kiln/dsl/Program.h"
#include "kiln/dsl/Tensor.h"
#include "kiln/dsl/functional.h"
#include "kiln/dsl/hooks.h"
#include "kiln/dsl/init.h"
#include "kiln/dsl/layers.h"
#include "kiln/dsl/layout.h"
#include "kiln/dsl/losses.h"
#include "kiln/dsl/nn.h"
#include "kiln/dsl/optim.h"
#include "kiln/dsl/reductions.h"

#endif // KILN_DSL_KILN_H
