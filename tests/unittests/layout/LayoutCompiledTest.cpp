//===- LayoutCompiledTest.cpp - compiled layout ops against the oracle ----===//
//
// Every layout op, forward and backward, compiled by the CPU pipeline in f32
// and run through its C ABI, against the float64 interpreter. Data movement
// is exact; sums of cotangents agree to f32 rounding.
//
//===----------------------------------------------------------------------===//

#include "LayoutTestSupport.h"

#include <limits>

using namespace kiln::dsl;
using namespace kiln::layout_test;

namespace {

/// f32-representable random values.
Buffer randomF32(const Shape &shape, unsigned seed) {
  Buffer b = randomBuffer(shape, seed, -2.0, 2.0);
  for (double &v : b.data)
    v = static_cast<float>(v);
  return b;
}

TEST(LayoutCompiled, SlicesAndConcat) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({4, 6});
  Tensor s = f.input({4, 3});
  f.output(slice(x, 1, 1, 6, 2));
  f.output(select(x, 0, 2));
  f.output(slice_scatter(x, s, 1, 1, 6, 2));
  f.output(cat({x, slice(x, 1, 0, 3), x}, 1));
  f.output(stack({s, s * 2.0}, 1));
  f.output(split(x, {1, 3}, 0)[1]);
  f.finish();
  expectCompiledMatchesInterpreter(p, "f", {randomF32({4, 6}, 1),
                                            randomF32({4, 3}, 2)});
}

TEST(LayoutCompiled, GatherScatterIndexSelect) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({4, 3});
  Tensor index = f.input({2, 3}, DType::i64);
  Tensor rows = f.input({5}, DType::i32);
  Tensor src = f.input({2, 3});
  f.output(gather(x, 0, index));
  f.output(scatter_add(x, 0, index, src));
  f.output(index_select(x, 0, rows));
  f.output(embedding(reshape(rows, {5, 1}), x));
  f.finish();
  Buffer idx{{2, 3}, {0, 3, 3, 0, 1, 3}}, sel{{5}, {3, 0, 0, 2, 1}};
  expectCompiledMatchesInterpreter(
      p, "f", {randomF32({4, 3}, 3), idx, sel, randomF32({2, 3}, 4)});
}

TEST(LayoutCompiled, UpdatesInPlaceOnlyWhenTheBaseIsDead) {
  // scatter_add and slice_scatter carry their base through loops; a base
  // that is read again afterwards must be copied first, not overwritten.
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({4, 3});
  Tensor index = f.input({2, 3}, DType::i64);
  Tensor base = x * 2.0;
  Tensor scattered = scatter_add(base, 0, index, slice(x, 0, 0, 2));
  Tensor replaced = slice_scatter(base, slice(x, 0, 2, 4), 0, 0, 2);
  f.output(scattered + base);
  f.output(replaced * base);
  f.finish();
  Buffer idx{{2, 3}, {0, 3, 3, 0, 1, 3}};
  expectCompiledMatchesInterpreter(p, "f", {randomF32({4, 3}, 8), idx},
                                   /*rtol=*/1e-6);
}

TEST(LayoutCompiled, TopK) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({3, 7});
  TopK best = topk(x, 3);
  TopK worst = topk(x, 2, 0, /*largest=*/false);
  f.output(best.values);
  f.output(best.indices);
  f.output(worst.values);
  f.output(worst.indices);
  f.finish();
  expectCompiledMatchesInterpreter(p, "f", {randomF32({3, 7}, 5)});
  // Ties and NaN: lower index first, NaN largest, like the interpreter.
  float nan = std::numeric_limits<float>::quiet_NaN();
  Buffer ties{{3, 7},
              {1, 2, 2, 1, 0, 2, 1, 5, nan, 5, 5, -1, nan, 0,
               0, 0, 0, 0, 0, 0, 0}};
  expectCompiledMatchesInterpreter(p, "f", {ties});
}

TEST(LayoutCompiled, BackwardOps) {
  // A training-step-like function: the gradients of a loss through every
  // layout op, which exercises slice_scatter and scatter_add on zeros.
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({4, 6});
  Tensor w = f.input({5, 3});
  Tensor ids = f.input({2, 2}, DType::i32);
  Tensor a = slice(x, 1, 0, 6, 2);                        // [4, 3]
  Tensor e = embedding(ids, w);                           // [2, 2, 3]
  Tensor joined = cat({a, reshape(e, {4, 3})}, 0);        // [8, 3]
  Tensor picked = topk(joined, 2, 1).values;              // [8, 2]
  Tensor g = gather(joined, 1, tensor({2, 0, 1, 1, 0, 2, 2, 2, 0, 1, 1, 0,
                                       0, 0, 2, 1}, {8, 2}));
  Tensor loss = (picked * g).sum() + (repeat(a, {1, 2}) * 0.5).sum();
  std::vector<Tensor> grads = grad(loss, {x, w});
  f.output(loss);
  f.output(grads[0]);
  f.output(grads[1]);
  f.finish();
  Buffer idsValue{{2, 2}, {4, 0, 4, 2}};
  expectCompiledMatchesInterpreter(
      p, "f", {randomF32({4, 6}, 6), randomF32({5, 3}, 7), idsValue},
      /*rtol=*/1e-5);
}

} // namespace
