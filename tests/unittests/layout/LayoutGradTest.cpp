//===- LayoutGradTest.cpp - layout VJPs against finite differences --------===//
//
// Every layout primitive's VJP rule (and the composites built on them) is
// checked against central finite differences of loss = sum(op(x) * W)
// through the float64 interpreter. The rules are linear in the cotangent,
// so the comparison is tight.
//
//===----------------------------------------------------------------------===//

#include "FiniteDifferenceCoverage.h"
#include "LayoutTestSupport.h"

using namespace kiln::dsl;
using namespace kiln::layout_test;

namespace {

using Xs = std::vector<Tensor>;

// The layout ops the checks below differentiate (the DSL emits them).
[[maybe_unused]] const bool kCoverageRecorded = kiln::coverage::recordFiniteDifferenceCheckOf(
    "kiln.slice kiln.slice_scatter kiln.concat kiln.gather "
    "kiln.scatter_add kiln.topk");

TEST(LayoutGrad, Slice) {
  gradCheck({{4, 6}}, [](const Xs &x) { return slice(x[0], 1, 1, 6, 2); });
  gradCheck({{4, 6}}, [](const Xs &x) { return slice(x[0], 0, 1, 3); });
  gradCheck({{3, 4, 5}}, [](const Xs &x) { return select(x[0], 1, -1); });
}

TEST(LayoutGrad, SliceScatterBothOperands) {
  gradCheck({{4, 6}, {4, 3}}, [](const Xs &x) {
    return slice_scatter(x[0], x[1], 1, 0, 6, 2);
  });
  gradCheck({{5, 3}, {2, 3}}, [](const Xs &x) {
    return slice_scatter(x[0], x[1], 0, 1, 5, 3);
  });
}

TEST(LayoutGrad, Split) {
  gradCheck({{2, 5}}, [](const Xs &x) {
    std::vector<Tensor> parts = split(x[0], 2, 1);
    // Reorder and weight the pieces differently.
    return cat({parts[2], parts[0] * 2.0, parts[1]}, 1);
  });
}

TEST(LayoutGrad, Concat) {
  gradCheck({{2, 3}, {2, 1}, {2, 2}},
            [](const Xs &x) { return cat({x[0], x[1], x[2]}, 1); });
  // One input used twice accumulates both slices.
  gradCheck({{3}, {2}}, [](const Xs &x) { return cat({x[0], x[1], x[0]}); });
}

TEST(LayoutGrad, Stack) {
  gradCheck({{2, 3}, {2, 3}},
            [](const Xs &x) { return stack({x[0], x[1]}, 1); });
}

TEST(LayoutGrad, Gather) {
  gradCheck({{3, 4}}, [](const Xs &x) {
    // Repeated indices: the gradient accumulates.
    return gather(x[0], 1, tensor({0, 0, 3, 2, 1, 1, 0, 3, 3}, {3, 3}));
  });
  gradCheck({{3, 4}}, [](const Xs &x) {
    return gather(x[0], 0, tensor({2, 0, 1, 2, 2, 2}, {2, 3}));
  });
}

TEST(LayoutGrad, ScatterAddBaseAndSource) {
  gradCheck({{4, 3}, {2, 3}}, [](const Xs &x) {
    return scatter_add(x[0], 0, tensor({0, 3, 3, 0, 1, 3}, {2, 3}), x[1]);
  });
  // A source larger than the index: only its corner gets a gradient.
  gradCheck({{3, 5}, {2, 5}}, [](const Xs &x) {
    return scatter_add(x[0], 0, tensor({0, 1, 2, 0, 0}, {1, 5}), x[1]);
  });
}

TEST(LayoutGrad, IndexSelectAndEmbedding) {
  gradCheck({{3, 4}}, [](const Xs &x) {
    return index_select(x[0], 1, tensor({3, 0, 3}, {3}));
  });
  gradCheck({{5, 3}}, [](const Xs &x) {
    return embedding(tensor({4, 0, 4, 2}, {2, 2}), x[0]);
  });
}

TEST(LayoutGrad, TopK) {
  gradCheck({{3, 5}}, [](const Xs &x) { return topk(x[0], 2).values; });
  gradCheck({{4, 3}},
            [](const Xs &x) { return topk(x[0], 3, 0, false).values; });
}

TEST(LayoutGrad, ExpandRepeat) {
  gradCheck({{3, 1}}, [](const Xs &x) { return expand(x[0], {2, -1, 4}); });
  gradCheck({{2, 3}}, [](const Xs &x) { return repeat(x[0], {2, 1, 2}); });
}

TEST(LayoutGrad, SecondOrderThroughSliceScatter) {
  // The backward ops are layout ops too: differentiate a gradient.
  gradCheck({{2, 4}}, [](const Xs &x) {
    Tensor inner = (slice(x[0], 1, 1, 3) * slice(x[0], 1, 1, 3)).sum();
    return grad(inner, {x[0]})[0];
  });
}

} // namespace
