// make-tables: writes the two small tables the tabular examples train on,
// generated from documented formulas with a fixed seed (docs/data.md):
//
//   linear:   x_j ~ U(-1, 1), j = 1..8
//             y = 0.7 + 1.5 x1 - 2 x2 + 0.5 x3 + 0 x4 + 3 x5 - x6 + 0.25 x7 + 2 x8
//                 + 0.1 e,  e ~ N(0, 1)
//   logistic: x_j ~ N(0, 1), j = 1..4
//             p = sigmoid(-0.5 + 2 x1 - x2 + 0.5 x3 + 0 x4),  y ~ Bernoulli(p)
//
// Each as <name>_train.csv (4000 rows) and <name>_test.csv (1000 rows), with
// the header "x1,...,xn,y". The generator (splitmix64, Box-Muller) is written
// out here so the tables are identical on every platform.
//
// usage: make-tables OUTPUT_DIR
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return (next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    const double u1 = 1.0 - uniform(); // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

private:
  uint64_t state;
};

struct Table {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
};

Table linearTable(Rng &rng, int rows) {
  const double w[] = {1.5, -2.0, 0.5, 0.0, 3.0, -1.0, 0.25, 2.0};
  Table t;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> x(8);
    double y = 0.7;
    for (int j = 0; j < 8; ++j) {
      x[j] = rng.uniform(-1.0, 1.0);
      y += w[j] * x[j];
    }
    t.x.push_back(x);
    t.y.push_back(y + 0.1 * rng.normal());
  }
  return t;
}

Table logisticTable(Rng &rng, int rows) {
  const double w[] = {2.0, -1.0, 0.5, 0.0};
  Table t;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> x(4);
    double z = -0.5;
    for (int j = 0; j < 4; ++j) {
      x[j] = rng.normal();
      z += w[j] * x[j];
    }
    t.x.push_back(x);
    t.y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0);
  }
  return t;
}

bool write(const std::string &path, const Table &t) {
  std::FILE *f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::perror(path.c_str());
    return false;
  }
  for (size_t j = 0; j < t.x[0].size(); ++j)
    std::fprintf(f, "x%zu,", j + 1);
  std::fprintf(f, "y\n");
  for (size_t r = 0; r < t.y.size(); ++r) {
    for (double v : t.x[r])
      std::fprintf(f, "%.9g,", v);
    std::fprintf(f, "%.9g\n", t.y[r]);
  }
  return std::fclose(f) == 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  Rng linear(1), logistic(2);
  // Train rows first, then test rows, from one stream per table.
  const Table linearTrain = linearTable(linear, 4000), linearTest = linearTable(linear, 1000);
  const Table logisticTrain = logisticTable(logistic, 4000),
              logisticTest = logisticTable(logistic, 1000);
  const bool ok = write(dir + "/linear_train.csv", linearTrain) &&
                  write(dir + "/linear_test.csv", linearTest) &&
                  write(dir + "/logistic_train.csv", logisticTrain) &&
                  write(dir + "/logistic_test.csv", logisticTest);
  return ok ? 0 : 1;
}
