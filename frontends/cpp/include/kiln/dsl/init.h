//===- init.h - torch.nn.init for traced parameters -------------*- C++ -*-===//
//
// Initialization is part of the compiled `<model>_init(seed)`: these
// functions do not produce values, they choose a parameter's nn::Init (its
// distribution), which init draws from with the counter-based
// random_uniform / random_normal ops. Two forms of each:
//
//   nn::init::kaiming_uniform_(fc.weight);            // like torch.nn.init
//   Parameter w{{64, 32}, nn::init::xavier_normal({64, 32})};
//
// Fans and gains follow PyTorch exactly: a weight is [out, in, k...] (Linear
// [out, in], Conv2d [out, in, kh, kw]); fan_in = in * prod(k), fan_out =
// out * prod(k).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_INIT_H
#define KILN_DSL_INIT_H

#include "kiln/dsl/Tensor.h"
#include "kiln/dsl/nn.h"

#include <optional>

namespace kiln::dsl::nn::init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity {
  Linear,
  Conv1d,
  Conv2d,
  Conv3d,
  Sigmoid,
  Tanh,
  ReLU,
  LeakyReLU,
  SELU
};

/// torch.nn.init.calculate_gain: 1 for linear/conv/sigmoid, 5/3 for tanh,
/// sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`,
/// default 0.01), 3/4 for selu.
double calculate_gain(Nonlinearity nonlinearity,
                      std::optional<double> param = std::nullopt);

struct Fans {
  int64_t fan_in = 0, fan_out = 0;
};
/// Fans of a weight of shape [out, in, k...]; rank < 2 is an error.
Fans calculate_fan_in_and_fan_out(const Shape &shape, Loc loc = Loc::current());

// Distributions for a parameter of `shape`.
Init zeros();
Init ones();
Init constant(double value);
/// U(a, b).
Init uniform(double a = 0.0, double b = 1.0);
/// N(mean, std^2).
Init normal(double mean = 0.0, double std = 1.0);
/// U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).
Init xavier_uniform(const Shape &shape, double gain = 1.0,
                    Loc loc = Loc::current());
/// N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).
Init xavier_normal(const Shape &shape, double gain = 1.0,
                   Loc loc = Loc::current());
/// U(-b, b), b = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
/// The defaults are PyTorch's (a = 0, fan_in, leaky_relu: gain sqrt(2)).
Init kaiming_uniform(const Shape &shape, double a = 0.0,
                     FanMode mode = FanMode::FanIn,
                     Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                     Loc loc = Loc::current());
/// N(0, std^2), std = gain / sqrt(fan).
Init kaiming_normal(const Shape &shape, double a = 0.0,
                    FanMode mode = FanMode::FanIn,
                    Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                    Loc loc = Loc::current());

// In place on a parameter, as torch.nn.init.*_.
void zeros_(Parameter &p);
void ones_(Parameter &p);
void constant_(Parameter &p, double value);
void uniform_(Parameter &p, double a = 0.0, double b = 1.0);
void normal_(Parameter &p, double mean = 0.0, double std = 1.0);
void xavier_uniform_(Parameter &p, double gain = 1.0, Loc loc = Loc::current());
void xavier_normal_(Parameter &p, double gain = 1.0, Loc loc = Loc::current());
void kaiming_uniform_(Parameter &p, double a = 0.0,
                      FanMode mode = FanMode::FanIn,
                      Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                      Loc loc = Loc::current());
void kaiming_normal_(Parameter &p, double a = 0.0,
                     FanMode mode = FanMode::FanIn,
                     Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                     Loc loc = Loc::current());

} // namespace kiln::dsl::nn::init

#endif // KILN_DSL_INIT_H
