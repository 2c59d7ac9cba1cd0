//===- DslTest.cpp - tracing, shape errors and shape inference of the DSL -===//
//
// Shape errors must surface at trace time as kiln::dsl::Error naming the
// user's file:line (the line of the offending expression in this file, never
// a DSL library line) and both shapes. Also checks dtype inference, the shape
// helpers (reshape with -1, flatten, transpose, reductions with keepdim), the
// printed IR, the recorded locations, and a few traced computations run
// through the reference interpreter.
//
//===----------------------------------------------------------------------===//

#include "DslErrors.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Interpreter/Interpreter.h"
#include "kiln/dsl/ProgramMLIR.h"
#include "kiln/dsl/kiln.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

using namespace kiln::dsl;
using kiln::dsl::test_support::errorOf;
using kiln::interp::Buffer;

namespace {

/// "<this file>:<line>:" — the prefix of an error reported at `line` here.
std::string here(int line) {
  return std::string(__FILE__) + ":" + std::to_string(line) + ":";
}

/// Whether `message` is an error reported at `line` of this file.
::testing::AssertionResult isErrorAt(const std::string &message, int line) {
  if (message.rfind(here(line), 0) != 0)
    return ::testing::AssertionFailure()
           << "error not reported at " << here(line) << "\n  got: " << message;
  if (message.find(": error: ") == std::string::npos)
    return ::testing::AssertionFailure() << "no ': error: ' in " << message;
  return ::testing::AssertionSuccess();
}

/// The error a DSL call throws and the line the call is written on:
/// `Trap t{__LINE__, [&] { a + b; }};` keeps both on one line, so that
/// t.atItsLine() checks that the error names the expression's line.
struct Trap {
  Trap(int line, const std::function<void()> &fn)
      : line(line), text(errorOf(fn)) {}
  ::testing::AssertionResult atItsLine() const { return isErrorAt(text, line); }
  ::testing::AssertionResult has(const std::string &part) const {
    if (text.find(part) == std::string::npos)
      return ::testing::AssertionFailure() << "no '" << part << "' in " << text;
    return ::testing::AssertionSuccess();
  }
  int line;
  std::string text;
};

mlir::func::FuncOp funcNamed(const Program &p, llvm::StringRef name) {
  return moduleOf(p).lookupSymbol<mlir::func::FuncOp>(name);
}

/// How many ops named `name` the program holds.
int opCount(const Program &p, llvm::StringRef name) {
  int count = 0;
  moduleOf(p).walk([&](mlir::Operation *op) {
    count += op->getName().getStringRef() == name;
  });
  return count;
}

/// Runs the traced function `name` of `p` in the reference interpreter.
std::vector<Buffer> interpret(const Program &p, llvm::StringRef name,
                              std::vector<Buffer> args) {
  mlir::func::FuncOp fn = funcNamed(p, name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name.str();
    return {};
  }
  auto results = kiln::interp::run(fn, args);
  if (mlir::failed(results)) {
    ADD_FAILURE() << "interpreter failed on\n" << p.str();
    return {};
  }
  return *results;
}

void expectValues(const Buffer &actual, const std::vector<int64_t> &shape,
                  const std::vector<double> &expected) {
  EXPECT_EQ(actual.shape, shape);
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], 1e-12) << "element " << i;
}

class DslTest : public ::testing::Test {
protected:
  Program p;
  Function f = p.function("f");
};

//===----------------------------------------------------------------------===//
// Shape errors at trace time
//===----------------------------------------------------------------------===//

TEST_F(DslTest, BroadcastMismatchReportsUserLineAndShapes) {
  Tensor a = f.input({2, 3});
  Tensor b = f.input({4});
  Trap message{__LINE__, [&] { a + b; }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("DslTest.cpp"));
  EXPECT_TRUE(message.has("[2, 3]"));
  EXPECT_TRUE(message.has("[4]"));
  EXPECT_TRUE(message.has("cannot be broadcast"));
  // The failed op left nothing behind; tracing goes on.
  Tensor c = a + f.input({3});
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  f.output(c);
  f.finish();
  EXPECT_TRUE(mlir::succeeded(mlir::verify(moduleOf(p))));
  EXPECT_EQ(opCount(p, "kiln.add"), 1) << p.str();
}

TEST_F(DslTest, EveryBinaryOperatorReportsTheExpressionLine) {
  Tensor a = f.input({2, 3});
  Tensor b = f.input({4});
  Trap m1{__LINE__, [&] { a - b; }};
  Trap m2{__LINE__, [&] { (void)(a * b); }};
  Trap m3{__LINE__, [&] { b / a; }};
  Trap m4{__LINE__, [&] { mul(a, b); }};
  EXPECT_TRUE(m1.atItsLine());
  EXPECT_TRUE(m2.atItsLine());
  EXPECT_TRUE(m3.atItsLine());
  EXPECT_TRUE(m4.atItsLine());
  EXPECT_TRUE(m3.has("[4] and [2, 3]"));
}

TEST_F(DslTest, MatmulMismatch) {
  Tensor a = f.input({2, 3});
  Tensor b = f.input({4, 5});
  Trap message{__LINE__, [&] { matmul(a, b); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("[2, 3]"));
  EXPECT_TRUE(message.has("[4, 5]"));
  EXPECT_TRUE(message.has("inner dimensions 3 and 4"));
  // Rank mismatch is reported too.
  Tensor v = f.input({3});
  Trap m2{__LINE__, [&] { matmul(a, v); }};
  EXPECT_TRUE(m2.atItsLine());
  EXPECT_TRUE(m2.has("[3]"));
}

TEST_F(DslTest, LinearMismatchReportsTheCallInTheUsersCode) {
  nn::Linear fc(784, 10);
  fc.weight.bind(f.state_input("fc.weight", {10, 784}));
  fc.bias.bind(f.state_input("fc.bias", {10}));
  Tensor x = f.input({8, 100});
  Trap message{__LINE__, [&] { fc(x); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_EQ(message.text.find("nn.cpp"), std::string::npos) << message.text;
  EXPECT_TRUE(message.has("[8, 100]"));
  EXPECT_TRUE(message.has("[10, 784]"));
  EXPECT_TRUE(message.has("Linear(784, 10)"));
  // The right input traces and gives [8, 10].
  EXPECT_EQ(fc(f.input({8, 784})).shape(), (Shape{8, 10}));
}

TEST_F(DslTest, ErrorsInsideLibraryCodeReportTheOutermostCall) {
  // mse_loss subtracts inside the library: the broadcast error must point at
  // the user's mse_loss call.
  Tensor a = f.input({2, 3});
  Tensor b = f.input({2});
  Trap message{__LINE__, [&] { nn::mse_loss(a, b); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("input shape [2, 3] and target shape [2] differ"));
  // Shapes that would broadcast are still an error: [2, 1] - [2] is [2, 2].
  Tensor column = f.input({2, 1});
  Trap broadcast{__LINE__, [&] { nn::mse_loss(column, b); }};
  EXPECT_TRUE(broadcast.atItsLine());
  EXPECT_TRUE(broadcast.has("mse_loss: input shape [2, 1] and target shape [2] differ"));
}

TEST_F(DslTest, ReshapeBadElementCount) {
  Tensor x = f.input({2, 3});
  Trap m1{__LINE__, [&] { x.reshape({4, 2}); }};
  EXPECT_TRUE(m1.atItsLine());
  EXPECT_TRUE(m1.has("[2, 3]"));
  EXPECT_TRUE(m1.has("[4, 2]"));
  EXPECT_TRUE(m1.has("6 elements"));
  EXPECT_TRUE(m1.has("8 elements"));

  // With -1 the count cannot divide.
  Trap m2{__LINE__, [&] { reshape(x, {4, -1}); }};
  EXPECT_TRUE(m2.atItsLine());
  EXPECT_TRUE(m2.has("cannot reshape [2, 3] to [4, -1]"));
  Trap m3{__LINE__, [&] { x.view({-1, -1}); }};
  EXPECT_TRUE(m3.atItsLine());
  EXPECT_TRUE(m3.has("only one dimension can be -1"));
  Trap m4{__LINE__, [&] { x.reshape({0, 6}); }};
  EXPECT_TRUE(m4.atItsLine());
  // The op that failed verification was erased: the function stays valid.
  f.output(x);
  f.finish();
  EXPECT_TRUE(mlir::succeeded(mlir::verify(moduleOf(p))));
  EXPECT_EQ(opCount(p, "kiln.reshape"), 0) << p.str();
}

TEST_F(DslTest, CrossEntropyWrongLabelShape) {
  Tensor logits = f.input({4, 10});
  Tensor labels2d = f.input({4, 1}, DType::i32);
  Trap m1{__LINE__, [&] { nn::cross_entropy(logits, labels2d); }};
  EXPECT_TRUE(m1.atItsLine());
  EXPECT_TRUE(m1.has("logits [4, 10]"));
  EXPECT_TRUE(m1.has("labels [4, 1]"));

  Tensor short_ = f.input({3}, DType::i32);
  Trap m2{__LINE__, [&] { nn::cross_entropy(logits, short_); }};
  EXPECT_TRUE(m2.atItsLine());
  EXPECT_TRUE(m2.has("labels [3]"));

  Tensor good = f.input({4}, DType::i32);
  EXPECT_EQ(nn::cross_entropy(logits, good).rank(), 0);
}

TEST_F(DslTest, GradOfNonScalarOutputAsksForASeed) {
  Tensor x = f.input({2, 3});
  Tensor y = x * x;
  Trap message{__LINE__, [&] { grad(y, {x}); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("[2, 3]"));
  EXPECT_TRUE(message.has("vjp"));
  EXPECT_TRUE(message.has("seed"));
  // value_and_grad checks the same way.
  Trap m2{__LINE__, [&] { value_and_grad(y, {x}); }};
  EXPECT_TRUE(m2.atItsLine());
}

TEST_F(DslTest, VjpSeedMustMatchTheOutput) {
  Tensor x = f.input({2, 3});
  Tensor y = x * x;
  Tensor seed = full({3}, 1.0);
  Trap message{__LINE__, [&] { vjp(y, seed, {x}); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("seed has shape [3]"));
  EXPECT_TRUE(message.has("output has shape [2, 3]"));
  std::vector<Tensor> g = vjp(y, full({2, 3}, 1.0), {x});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].shape(), (Shape{2, 3}));
}

TEST_F(DslTest, TensorFromAnotherFunctionIsAnError) {
  Tensor a = f.input({2});
  f.output(a);
  f.finish();
  Function g = p.function("g");
  Tensor b = g.input({2});
  Trap message{__LINE__, [&] { a + b; }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("another traced function"));
  // Function::output reports the user's line too.
  Trap m2{__LINE__, [&] { g.output(a); }};
  EXPECT_TRUE(m2.atItsLine());
  EXPECT_TRUE(m2.has("another traced function"));
  Trap m3{__LINE__, [&] { g.state_output("s", a); }};
  EXPECT_TRUE(m3.atItsLine());
}

TEST_F(DslTest, UndefinedTensorIsAnError) {
  Tensor undefined;
  EXPECT_FALSE(undefined.defined());
  Trap message{__LINE__, [&] { exp(undefined); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("undefined tensor"));
}

TEST_F(DslTest, NoActiveFunctionAfterFinish) {
  Tensor a = f.input({2});
  f.output(a);
  f.finish();
  Trap message{__LINE__, [&] { scalar(1.0); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("no function is being traced"));
  EXPECT_NE(errorOf([&] { (void)(a * a); }).find("no function is being traced"),
            std::string::npos);
}

TEST(DslNoProgram, NoActiveFunctionWithoutAnyProgram) {
  Trap message{__LINE__, [&] { full({2}, 0.0); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("no function is being traced"));
}

TEST(DslNoProgram, ProgramDestroyedWhileTracingLeavesNoActiveFunction) {
  {
    Program p;
    Function f = p.function("f");
    f.input({2});
  }
  EXPECT_NE(errorOf([&] { scalar(1.0); }).find("no function is being traced"),
            std::string::npos);
}

TEST_F(DslTest, SecondFunctionWhileTracingIsAnError) {
  std::string message = errorOf([&] { p.function("g"); });
  EXPECT_NE(message.find("'g' started while 'f' is still being traced"),
            std::string::npos)
      << message;
}

TEST_F(DslTest, NonPositiveInputDimensionIsAnError) {
  Trap message{__LINE__, [&] { f.input({2, 0}); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("[2, 0]"));
}

TEST_F(DslTest, OpsRecordTheUsersLocation) {
  nn::Linear fc(3, 2);
  fc.weight.bind(f.state_input("w", {2, 3}));
  fc.bias.bind(f.state_input("b", {2}));
  Tensor x = f.input({4, 3});
  // Each line number is taken in the statement of the call it belongs to.
  int addLine = 0, fcLine = 0;
  Tensor y = (addLine = __LINE__, x + x);
  Tensor z = (fcLine = __LINE__, fc(y));
  f.output(z);
  f.finish();
  int adds = 0, matmuls = 0;
  funcNamed(p, "f").walk([&](mlir::Operation *op) {
    auto loc = op->getLoc().dyn_cast<mlir::FileLineColLoc>();
    if (mlir::isa<kiln::AddOp, kiln::MatmulOp, kiln::TransposeOp>(op)) {
      ASSERT_TRUE(loc) << "op without a file location";
      EXPECT_EQ(loc.getFilename().str(), std::string(__FILE__));
    }
    if (mlir::isa<kiln::AddOp>(op) && op->getOperand(0) == op->getOperand(1)) {
      ++adds;
      EXPECT_EQ(loc.getLine(), static_cast<unsigned>(addLine));
    } else if (mlir::isa<kiln::MatmulOp, kiln::TransposeOp, kiln::AddOp>(op)) {
      // Everything Linear traces is attributed to the fc(y) call.
      matmuls += mlir::isa<kiln::MatmulOp>(op);
      EXPECT_EQ(loc.getLine(), static_cast<unsigned>(fcLine))
          << op->getName().getStringRef().str();
    }
  });
  EXPECT_EQ(adds, 1);
  EXPECT_EQ(matmuls, 1);
}

//===----------------------------------------------------------------------===//
// Dtypes and shapes
//===----------------------------------------------------------------------===//

/// Whether the braced form users write, `tensor({1, 2, 3}, {3})`, compiles
/// with elements of type T (checked without breaking this file's build when
/// the overloads are ambiguous).
template <class T> constexpr bool kBracedTensorCompiles = requires {
  tensor({T(1), T(2), T(3)}, Shape{3});
};

/// tensor({1, 2, 3}, {3}) must be i32 and tensor({1.5, 2.0, 3.0}, {3}) f32.
template <class T>
void expectBracedTensorDtype(const char *literals, DType expected) {
  if constexpr (kBracedTensorCompiles<T>) {
    Tensor t = tensor({T(1), T(2), T(3)}, {3});
    EXPECT_EQ(t.dtype(), expected);
    EXPECT_EQ(t.shape(), (Shape{3}));
  } else {
    ADD_FAILURE() << "tensor(" << literals
                  << ", {3}) does not compile: the std::vector<int> and "
                     "std::vector<double> overloads of kiln::dsl::tensor are "
                     "ambiguous for a braced list (Tensor.h)";
  }
}

TEST_F(DslTest, BracedConstantDtypeInference) {
  expectBracedTensorDtype<int>("{1, 2, 3}", DType::i32);
  expectBracedTensorDtype<double>("{1.0, 2.0, 3.0}", DType::f32);
}

TEST_F(DslTest, ConstantDtypeInference) {
  Tensor ints = tensor(std::vector<int>{1, 2, 3}, {3});
  EXPECT_EQ(ints.dtype(), DType::i32);
  EXPECT_EQ(ints.shape(), (Shape{3}));
  Tensor floats = tensor(std::vector<double>{1.5, 2.0, -3.25, 4.0}, {2, 2});
  EXPECT_EQ(floats.dtype(), DType::f32);
  EXPECT_EQ(floats.shape(), (Shape{2, 2}));
  Tensor doubles = tensor(std::vector<double>{0.5, 1.0}, {2}, DType::f64);
  EXPECT_EQ(doubles.dtype(), DType::f64);
  EXPECT_EQ(scalar(2.0).dtype(), DType::f32);
  EXPECT_EQ(scalar(2.0).rank(), 0);
  EXPECT_EQ(scalar(7, DType::i64).dtype(), DType::i64);
  EXPECT_EQ(full({2, 3}, 0.5, DType::f64).dtype(), DType::f64);
  EXPECT_EQ(f.input({2}, DType::i64).dtype(), DType::i64);
  EXPECT_EQ(f.input({2}).dtype(), DType::f32);
  // Results keep the operand type; comparisons give a float mask; one_hot
  // takes the requested type.
  EXPECT_EQ((doubles * doubles).dtype(), DType::f64);
  EXPECT_EQ((doubles + 1.0).dtype(), DType::f64);
  EXPECT_EQ(gt(floats, scalar(0.0)).dtype(), DType::f32);
  Tensor hot = one_hot(ints, 5);
  EXPECT_EQ(hot.dtype(), DType::f32);
  EXPECT_EQ(hot.shape(), (Shape{3, 5}));
  EXPECT_EQ(one_hot(ints, 5, DType::f64).dtype(), DType::f64);
  f.output(ints);
  f.output(floats);
  f.output(doubles);
  f.finish();
  std::string ir = p.str();
  EXPECT_NE(ir.find("kiln.constant dense<[1, 2, 3]> : tensor<3xi32>"),
            std::string::npos)
      << ir;
  EXPECT_NE(ir.find("kiln.constant dense<[[1.500000e+00, 2.000000e+00], "
                    "[-3.250000e+00, 4.000000e+00]]> : tensor<2x2xf32>"),
            std::string::npos)
      << ir;
  EXPECT_NE(ir.find("tensor<2xf64>"), std::string::npos) << ir;
}

TEST_F(DslTest, MixedDtypesPromoteAsInPyTorch) {
  Tensor ints = tensor(std::vector<int>{1, 2, 3}, {3});
  Tensor longs = tensor(std::vector<int64_t>{4, 5, 6}, {3});
  Tensor floats = f.input({3});
  Tensor doubles = f.input({3}, DType::f64);
  EXPECT_EQ(longs.dtype(), DType::i64);
  EXPECT_EQ((ints + floats).dtype(), DType::f32);
  EXPECT_EQ((floats * ints).dtype(), DType::f32);
  EXPECT_EQ((ints + longs).dtype(), DType::i64);
  EXPECT_EQ((floats - doubles).dtype(), DType::f64);
  EXPECT_EQ((longs + doubles).dtype(), DType::f64);
  EXPECT_EQ((ints * 2).dtype(), DType::i32) << "a C++ int keeps the type";
  EXPECT_EQ((ints * 0.5).dtype(), DType::f32) << "a C++ double is a float";
  EXPECT_EQ((2.0 + ints).dtype(), DType::f32);
  EXPECT_EQ((ints / ints).dtype(), DType::f32) << "true division";
  EXPECT_EQ(gt(ints, longs).dtype(), DType::i64);
  EXPECT_EQ(maximum(ints, floats).dtype(), DType::f32);
  EXPECT_EQ(exp(ints).dtype(), DType::f32);
  EXPECT_EQ(abs(ints).dtype(), DType::i32);
  EXPECT_EQ(clamp(ints, 0, 2).dtype(), DType::i32);
  EXPECT_EQ(clamp(ints, 0.5, 2).dtype(), DType::f32);
  EXPECT_EQ(ints.to(DType::i32).value(), ints.value()) << "no-op cast";
  EXPECT_EQ(to(floats, DType::i64).dtype(), DType::i64);
  EXPECT_NE(errorOf([&] { one_hot(floats, 3); }).find("integer"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { pow(ints, 2.0); }).find("integer powers"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              tensor(std::vector<double>{1.0, 2.0}, {3});
            }).find("2 values do not fill shape [3]"),
            std::string::npos);
  Tensor square = reshape(tensor(std::vector<int>{1, 2, 3, 4}, {4}), {2, 2});
  Trap message{__LINE__, [&] { matmul(square, square); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("floating-point")) << "matmul is float-only";
  f.output(ints + longs + floats);
  f.finish();
  std::string ir = p.str();
  EXPECT_NE(ir.find("kiln.cast %"), std::string::npos) << ir;
  EXPECT_NE(ir.find("tensor<3xi32> -> tensor<3xf32>"), std::string::npos) << ir;
  EXPECT_NE(ir.find("tensor<3xi32> -> tensor<3xi64>"), std::string::npos) << ir;
}

TEST_F(DslTest, ShapeRankSizeNumel) {
  Tensor x = f.input({2, 3, 4});
  EXPECT_EQ(x.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(x.rank(), 3);
  EXPECT_EQ(x.size(0), 2);
  EXPECT_EQ(x.size(1), 3);
  EXPECT_EQ(x.size(-1), 4);
  EXPECT_EQ(x.size(-3), 2);
  EXPECT_EQ(x.numel(), 24);
  EXPECT_TRUE(x.defined());
  EXPECT_NE(errorOf([&] { x.size(3); }).find("out of range"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { x.size(-4); }).find("[2, 3, 4]"), std::string::npos);
  Tensor s = scalar(1.0);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(to_string(Shape{}), "[]");
  EXPECT_EQ(to_string(Shape{2, 3}), "[2, 3]");
}

TEST_F(DslTest, ReshapeInfersMinusOne) {
  Tensor x = f.input({2, 3, 4});
  EXPECT_EQ(x.reshape({-1, 4}).shape(), (Shape{6, 4}));
  EXPECT_EQ(x.view({4, -1}).shape(), (Shape{4, 6}));
  EXPECT_EQ(reshape(x, {-1}).shape(), (Shape{24}));
  EXPECT_EQ(reshape(x, {2, -1, 3}).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(reshape(x, {24, 1}).shape(), (Shape{24, 1}));
}

TEST_F(DslTest, Flatten) {
  Tensor x = f.input({2, 3, 4});
  // torch.flatten's defaults: everything into one dimension.
  EXPECT_EQ(flatten(x).shape(), (Shape{24}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(x, 2).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(flatten(x, -2).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(x, 0, 1).shape(), (Shape{6, 4}));
  EXPECT_EQ(flatten(x, 1, -2).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(flatten(x.sum()).shape(), (Shape{1}));
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
  // nn.Flatten keeps the batch dimension.
  EXPECT_EQ(nn::Flatten()(x).shape(), (Shape{2, 12}));
  EXPECT_EQ(nn::Flatten(0, 1)(x).shape(), (Shape{6, 4}));
  Trap message{__LINE__, [&] { flatten(x, 3); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("flatten: start_dim out of range for shape [2, 3, 4]"));
  Trap order{__LINE__, [&] { flatten(x, 2, 1); }};
  EXPECT_TRUE(order.atItsLine());
  EXPECT_TRUE(order.has("flatten: start_dim 2 comes after end_dim 1"));
}

TEST_F(DslTest, TransposePermuteT) {
  Tensor x = f.input({2, 3, 4});
  EXPECT_EQ(transpose(x, 0, 2).shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(transpose(x, -1, -2).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(permute(x, {2, 0, 1}).shape(), (Shape{4, 2, 3}));
  Tensor m = f.input({2, 5});
  EXPECT_EQ(m.t().shape(), (Shape{5, 2}));
  Trap m1{__LINE__, [&] { x.t(); }};
  EXPECT_TRUE(m1.atItsLine());
  EXPECT_TRUE(m1.has("2-D"));
  Trap m2{__LINE__, [&] { transpose(x, 0, 3); }};
  EXPECT_TRUE(m2.atItsLine());
  Trap m3{__LINE__, [&] { permute(x, {0, 0, 1}); }};
  EXPECT_TRUE(m3.atItsLine());
  EXPECT_TRUE(m3.has("not a permutation"));
  Trap m4{__LINE__, [&] { permute(x, {1, 0}); }};
  EXPECT_TRUE(m4.atItsLine());
  EXPECT_TRUE(m4.has("rank 3"));
}

TEST_F(DslTest, ReductionShapes) {
  Tensor x = f.input({2, 3, 4});
  EXPECT_EQ(sum(x, {1}).shape(), (Shape{2, 4}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(mean(x, {-1}).shape(), (Shape{2, 3}));
  EXPECT_EQ(mean(x, {-1}, true).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(amax(x, {0, 2}).shape(), (Shape{3}));
  EXPECT_EQ(amax(x, {2, 0}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(x.sum().shape(), Shape{});
  EXPECT_EQ(x.mean().rank(), 0);
  EXPECT_EQ(log_softmax(x, -1).shape(), (Shape{2, 3, 4}));
  Trap message{__LINE__, [&] { sum(x, {3}); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("out of range"));
  EXPECT_NE(errorOf([&] { sum(x, {1, 1}); }).find("unique"), std::string::npos);
}

TEST_F(DslTest, BroadcastShapes) {
  EXPECT_EQ((f.input({2, 3}) + f.input({3})).shape(), (Shape{2, 3}));
  EXPECT_EQ((f.input({2, 1}) * f.input({1, 3})).shape(), (Shape{2, 3}));
  EXPECT_EQ((f.input({4, 1, 3}) - f.input({2, 1})).shape(), (Shape{4, 2, 3}));
  EXPECT_EQ((2.0 * f.input({5})).shape(), (Shape{5}));
  EXPECT_EQ(broadcast_to(f.input({3}), {2, 3}).shape(), (Shape{2, 3}));
  Trap message{__LINE__, [&] { broadcast_to(f.input({3}), {3, 2}); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("cannot broadcast [3] to [3, 2]"));
}

//===----------------------------------------------------------------------===//
// Printed IR and numbers
//===----------------------------------------------------------------------===//

TEST_F(DslTest, PrintedIR) {
  Tensor x = f.input({2, 3});
  Tensor s = sum(x, {1}, true);
  Tensor y = x.t();
  f.output(s);
  f.output(y);
  f.output(relu(x) * 2.0);
  f.finish();
  std::string ir = p.str();
  EXPECT_NE(ir.find("func.func @f(%arg0: tensor<2x3xf32>) -> "
                    "(tensor<2x1xf32>, tensor<3x2xf32>, tensor<2x3xf32>)"),
            std::string::npos)
      << ir;
  EXPECT_NE(ir.find("kiln.reduce_sum %arg0 axes = [1] keepdims : "
                    "tensor<2x3xf32> -> tensor<2x1xf32>"),
            std::string::npos)
      << ir;
  EXPECT_NE(ir.find("kiln.transpose"), std::string::npos) << ir;
  EXPECT_NE(ir.find("kiln.relu %arg0 : tensor<2x3xf32>"), std::string::npos)
      << ir;
  EXPECT_NE(ir.find("kiln.constant dense<2.000000e+00> : tensor<f32>"),
            std::string::npos)
      << ir;
  EXPECT_NE(ir.find("kiln.state_args = [\"\"]"), std::string::npos) << ir;
  EXPECT_NE(ir.find("kiln.state_results = [\"\", \"\", \"\"]"),
            std::string::npos)
      << ir;
  EXPECT_TRUE(mlir::succeeded(mlir::verify(moduleOf(p))));
}

TEST_F(DslTest, StateInputsAndOutputsAreNamed) {
  Tensor w = f.state_input("fc.weight", {2});
  Tensor x = f.input({2});
  f.output(w * x);
  f.state_output("fc.weight", w + x);
  f.finish();
  mlir::func::FuncOp fn = funcNamed(p, "f");
  ASSERT_TRUE(fn);
  auto args = fn->getAttrOfType<mlir::ArrayAttr>(kiln::KilnDialect::getStateArgsAttrName());
  auto results = fn->getAttrOfType<mlir::ArrayAttr>(kiln::KilnDialect::getStateResultsAttrName());
  ASSERT_TRUE(args && results);
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].cast<mlir::StringAttr>().getValue(), "fc.weight");
  EXPECT_EQ(args[1].cast<mlir::StringAttr>().getValue(), "");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].cast<mlir::StringAttr>().getValue(), "");
  EXPECT_EQ(results[1].cast<mlir::StringAttr>().getValue(), "fc.weight");
  std::vector<Buffer> r = interpret(p, "f", {{{2}, {2, 3}}, {{2}, {5, -1}}});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {2}, {10, -3});
  expectValues(r[1], {2}, {7, 2});
}

TEST_F(DslTest, TracedComputationsEvaluateCorrectly) {
  Tensor x = f.input({2, 3});
  f.output(sum(x, {1}));
  f.output(mean(x, {0}, true));
  f.output(amax(x, {1}));
  f.output(x.t());
  f.output(permute(x.reshape({2, 3, 1}), {2, 1, 0}).reshape({3, 2}));
  f.output(matmul(x, x.t()));
  f.output(1.0 - x / 2.0);
  f.output(-x + tensor(std::vector<double>{1.0, 2.0, 3.0}, {3}));
  Tensor zeros = tensor(std::vector<double>{0.0, 0.0}, {2});
  f.output(log_softmax(zeros + x.sum(), 0));
  f.finish();
  std::vector<Buffer> r = interpret(p, "f", {{{2, 3}, {1, -2, 3, 4, 5, -6}}});
  ASSERT_EQ(r.size(), 9u);
  expectValues(r[0], {2}, {2, 3});
  expectValues(r[1], {1, 3}, {2.5, 1.5, -1.5});
  expectValues(r[2], {2}, {3, 5});
  expectValues(r[3], {3, 2}, {1, 4, -2, 5, 3, -6});
  expectValues(r[4], {3, 2}, {1, 4, -2, 5, 3, -6});
  expectValues(r[5], {2, 2}, {14, -24, -24, 77});
  expectValues(r[6], {2, 3}, {0.5, 2, -0.5, -1, -1.5, 4});
  expectValues(r[7], {2, 3}, {0, 4, 0, -3, -3, 9});
  expectValues(r[8], {2}, {-std::log(2.0), -std::log(2.0)});
}

TEST_F(DslTest, OneHotAndComparisonsEvaluate) {
  Tensor labels = f.input({3}, DType::i32);
  Tensor x = f.input({3});
  f.output(one_hot(labels, 4));
  f.output(gt(x, scalar(0.0)));
  f.output(eq(x, tensor(std::vector<double>{1.0, 0.0, 3.0}, {3})));
  f.finish();
  std::vector<Buffer> r =
      interpret(p, "f", {{{3}, {2, 0, 3}}, {{3}, {1, -2, 0}}});
  ASSERT_EQ(r.size(), 3u);
  expectValues(r[0], {3, 4}, {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1});
  expectValues(r[1], {3}, {1, 0, 0});
  expectValues(r[2], {3}, {1, 0, 0});
}

} // namespace

TEST_F(DslTest, IntegerTensorsComputeAsInPyTorch) {
  Tensor x = f.input({4}, DType::i32);
  Tensor y = f.input({4});
  f.output(x / 2);                    // true division: f32
  f.output(x * 3 - 1);                // stays i32
  f.output(x + y);                    // promoted to f32
  f.output(clamp(x, -1, 2));          // i32
  f.output(y.to(DType::i32));         // truncation toward zero
  f.output(lt(x, 1.5));               // compared as f32: a 0/1 f32 mask
  f.finish();
  std::vector<Buffer> r =
      interpret(p, "f", {{{4}, {-3, 0, 1, 5}}, {{4}, {0.5, -1.75, 2.25, 9.99}}});
  ASSERT_EQ(r.size(), 6u);
  expectValues(r[0], {4}, {-1.5, 0.0, 0.5, 2.5});
  expectValues(r[1], {4}, {-10, -1, 2, 14});
  expectValues(r[2], {4}, {-2.5, -1.75, 3.25, 14.99});
  expectValues(r[3], {4}, {-1, 0, 1, 2});
  expectValues(r[4], {4}, {0, -1, 2, 9});
  expectValues(r[5], {4}, {1, 1, 1, 0});
  EXPECT_EQ(opCount(p, "kiln.div"), 1);
}

TEST_F(DslTest, IntegerReductionsAndSelectionsAsInPyTorch) {
  Tensor x = f.input({2, 3}, DType::i32);
  Tensor s = sum(x, {1});
  Tensor all = x.sum();
  EXPECT_EQ(s.dtype(), DType::i64) << "torch.sum of int32 is int64";
  EXPECT_EQ(all.dtype(), DType::i64);
  Tensor m = amax(x, {0});
  EXPECT_EQ(m.dtype(), DType::i32);
  Tensor r = relu(x);
  Tensor w = where(gt(x, 0), x, 7);
  Tensor t = transpose(x, 0, 1);
  EXPECT_EQ(r.dtype(), DType::i32);
  EXPECT_EQ(w.dtype(), DType::i32);
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  // A float value promotes where's result, as torch.where does.
  EXPECT_EQ(where(gt(x, 0), x, 0.5).dtype(), DType::f32);
  f.output(s);
  f.output(all);
  f.output(m);
  f.output(r);
  f.output(w);
  f.output(t);
  Trap message{__LINE__, [&] { mean(x, {0}); }};
  EXPECT_TRUE(message.atItsLine());
  EXPECT_TRUE(message.has("mean: could not infer output dtype"));
  EXPECT_TRUE(message.has(".to(DType::f32)"));
  f.finish();
  std::vector<Buffer> v =
      interpret(p, "f", {{{2, 3}, {2147483647, 1, -4, -7, 0, 9}}});
  ASSERT_EQ(v.size(), 6u);
  // Summed in i64: no wrap-around past 2^31 - 1.
  expectValues(v[0], {2}, {2147483644.0, 2});
  expectValues(v[1], {}, {2147483646.0});
  expectValues(v[2], {3}, {2147483647, 1, 9});
  expectValues(v[3], {2, 3}, {2147483647, 1, 0, 0, 0, 9});
  expectValues(v[4], {2, 3}, {2147483647, 1, 7, 7, 7, 9});
  expectValues(v[5], {3, 2}, {2147483647, -7, 1, 0, -4, 9});
}
