//===- init.cpp - torch.nn.init for traced parameters ---------------------===//
//
// Formulas from torch/nn/init.py (PyTorch 1.13): _calculate_fan_in_and_fan_out,
// calculate_gain, xavier_*, kaiming_*.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/init.h"

#include <cmath>

namespace kiln::dsl::nn::init {

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
  case Nonlinearity::Linear:
  case Nonlinearity::Conv1d:
  case Nonlinearity::Conv2d:
  case Nonlinearity::Conv3d:
  case Nonlinearity::Sigmoid:
    return 1.0;
  case Nonlinearity::Tanh:
    return 5.0 / 3.0;
  case Nonlinearity::ReLU:
    return std::sqrt(2.0);
  case Nonlinearity::LeakyReLU: {
    double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  case Nonlinearity::SELU:
    return 3.0 / 4.0;
  }
  return 1.0;
}

Fans calculate_fan_in_and_fan_out(const Shape &shape, Loc loc) {
  if (shape.size() < 2)
    raise_error(loc, "fan in and fan out can not be computed for a tensor "
                     "with fewer than 2 dimensions, got shape " +
                         to_string(shape));
  int64_t receptiveField = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    receptiveField *= shape[d];
  return {shape[1] * receptiveField, shape[0] * receptiveField};
}

static int64_t fanOf(const Shape &shape, FanMode mode, Loc loc) {
  Fans fans = calculate_fan_in_and_fan_out(shape, loc);
  int64_t fan = mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
  if (fan == 0)
    raise_error(loc, "kaiming init of a tensor of shape " + to_string(shape) +
                         " with zero fan");
  return fan;
}

Init zeros() { return Init::zeros(); }
Init ones() { return Init::constant(1.0); }
Init constant(double value) { return Init::constant(value); }
Init uniform(double a, double b) { return Init::uniform(a, b); }
Init normal(double mean, double stddev) { return Init::normal(mean, stddev); }

Init xavier_uniform(const Shape &shape, double gain, Loc loc) {
  Fans fans = calculate_fan_in_and_fan_out(shape, loc);
  double stddev = gain * std::sqrt(2.0 / double(fans.fan_in + fans.fan_out));
  double a = std::sqrt(3.0) * stddev;
  return Init::uniform(-a, a);
}

Init xavier_normal(const Shape &shape, double gain, Loc loc) {
  Fans fans = calculate_fan_in_and_fan_out(shape, loc);
  double stddev = gain * std::sqrt(2.0 / double(fans.fan_in + fans.fan_out));
  return Init::normal(0.0, stddev);
}

Init kaiming_uniform(const Shape &shape, double a, FanMode mode,
                     Nonlinearity nonlinearity, Loc loc) {
  double gain = calculate_gain(nonlinearity, a);
  double stddev = gain / std::sqrt(double(fanOf(shape, mode, loc)));
  double bound = std::sqrt(3.0) * stddev;
  return Init::uniform(-bound, bound);
}

Init kaiming_normal(const Shape &shape, double a, FanMode mode,
                    Nonlinearity nonlinearity, Loc loc) {
  double gain = calculate_gain(nonlinearity, a);
  double stddev = gain / std::sqrt(double(fanOf(shape, mode, loc)));
  return Init::normal(0.0, stddev);
}

void zeros_(Parameter &p) { p.set_init(zeros()); }
void ones_(Parameter &p) { p.set_init(ones()); }
void constant_(Parameter &p, double value) { p.set_init(constant(value)); }
void uniform_(Parameter &p, double a, double b) { p.set_init(uniform(a, b)); }
void normal_(Parameter &p, double mean, double stddev) {
  p.set_init(normal(mean, stddev));
}
void xavier_uniform_(Parameter &p, double gain, Loc loc) {
  p.set_init(xavier_uniform(p.shape(), gain, loc));
}
void xavier_normal_(Parameter &p, double gain, Loc loc) {
  p.set_init(xavier_normal(p.shape(), gain, loc));
}
void kaiming_uniform_(Parameter &p, double a, FanMode mode,
                      Nonlinearity nonlinearity, Loc loc) {
  p.set_init(kaiming_uniform(p.shape(), a, mode, nonlinearity, loc));
}
void kaiming_normal_(Parameter &p, double a, FanMode mode,
                     Nonlinearity nonlinearity, Loc loc) {
  p.set_init(kaiming_normal(p.shape(), a, mode, nonlinearity, loc));
}

} // namespace kiln::dsl::nn::init
