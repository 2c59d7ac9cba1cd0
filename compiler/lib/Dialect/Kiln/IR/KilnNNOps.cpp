//===- KilnNNOps.cpp - shape rules of the NN ops --------------------------===//
//
// Shape inference and verifiers of kiln.conv2d, its two gradient ops,
// kiln.max_pool2d and its gradient. Every message names the shapes involved:
// the DSL calls the same inference while tracing, so a user's channel
// mismatch is reported at their line. Their VJP rules are in KilnNNVJP.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace kiln;

namespace {
RankedTensorType tensorOf(Value v) {
  return v.getType().cast<RankedTensorType>();
}

/// The (height, width) window attributes of a convolution or pooling op.
struct Window {
  ArrayRef<int64_t> kernel; // pooling only; conv takes it from the weight
  ArrayRef<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

/// The DenseI64ArrayAttr `name` of `attrs`, or failure after an error.
FailureOr<ArrayRef<int64_t>> pairAttr(std::optional<Location> loc,
                                      StringRef opName, DictionaryAttr attrs,
                                      StringRef name) {
  auto attr = attrs ? attrs.getAs<DenseI64ArrayAttr>(name) : nullptr;
  if (!attr)
    return emitOptionalError(loc, opName, ": missing attribute '", name, "'");
  if (attr.size() != 2)
    return emitOptionalError(loc, opName, ": ", name,
                             " needs 2 entries (height, width), got ",
                             formatShape(attr.asArrayRef()));
  return attr.asArrayRef();
}

/// Reads and checks stride > 0, padding >= 0, dilation > 0 (and kernel > 0,
/// groups > 0 where the op has them).
FailureOr<Window> readWindow(std::optional<Location> loc, StringRef opName,
                             DictionaryAttr attrs, bool pooling) {
  Window window;
  auto stride = pairAttr(loc, opName, attrs, "stride");
  auto padding = pairAttr(loc, opName, attrs, "padding");
  auto dilation = pairAttr(loc, opName, attrs, "dilation");
  if (failed(stride) || failed(padding) || failed(dilation))
    return failure();
  window.stride = *stride;
  window.padding = *padding;
  window.dilation = *dilation;
  for (int i = 0; i < 2; ++i)
    if (window.stride[i] <= 0 || window.dilation[i] <= 0 ||
        window.padding[i] < 0)
      return emitOptionalError(
          loc, opName, ": stride and dilation must be positive and padding "
          "non-negative, got stride ", formatShape(window.stride),
          ", padding ", formatShape(window.padding), ", dilation ",
          formatShape(window.dilation));
  if (pooling) {
    auto kernel = pairAttr(loc, opName, attrs, "kernel");
    if (failed(kernel))
      return failure();
    window.kernel = *kernel;
    if (window.kernel[0] <= 0 || window.kernel[1] <= 0)
      return emitOptionalError(loc, opName, ": kernel must be positive, got ",
                               formatShape(window.kernel));
    return window;
  }
  auto groups = attrs ? attrs.getAs<IntegerAttr>("groups") : nullptr;
  if (!groups)
    return emitOptionalError(loc, opName, ": missing attribute 'groups'");
  window.groups = groups.getInt();
  if (window.groups <= 0)
    return emitOptionalError(loc, opName, ": groups must be positive, got ",
                             window.groups);
  return window;
}

/// [OH, OW] of a window of `kernel` sliding over `spatial` = [H, W], or
/// failure when the window does not fit the padded input.
FailureOr<std::pair<int64_t, int64_t>>
outputSpatial(std::optional<Location> loc, StringRef opName,
              ArrayRef<int64_t> inputShape, ArrayRef<int64_t> kernel,
              const Window &w) {
  int64_t oh = Conv2DOp::outputSize(inputShape[2], kernel[0], w.stride[0],
                                    w.padding[0], w.dilation[0]);
  int64_t ow = Conv2DOp::outputSize(inputShape[3], kernel[1], w.stride[1],
                                    w.padding[1], w.dilation[1]);
  if (oh <= 0 || ow <= 0)
    return emitOptionalError(
        loc, opName, ": the ", kernel[0], "x", kernel[1], " window (dilation ",
        formatShape(w.dilation), ") does not fit input ",
        formatShape(inputShape), " with padding ", formatShape(w.padding),
        " (output would be ", oh, "x", ow, ")");
  return std::make_pair(oh, ow);
}

/// The conv2d result shape [N, O, OH, OW] of `input` and `weight`, after
/// checking ranks, element types, channels and the window.
FailureOr<SmallVector<int64_t>>
convResultShape(std::optional<Location> loc, StringRef opName,
                RankedTensorType input, RankedTensorType weight,
                const Window &w) {
  ArrayRef<int64_t> x = input.getShape(), k = weight.getShape();
  if (x.size() != 4 || k.size() != 4)
    return emitOptionalError(
        loc, opName, ": expects a 4-D input [N, C, H, W] and a 4-D weight "
        "[O, C/groups, KH, KW], got input ", formatShape(x), " and weight ",
        formatShape(k));
  if (input.getElementType() != weight.getElementType())
    return emitOptionalError(loc, opName, ": element types differ (input ",
                             input.getElementType(), ", weight ",
                             weight.getElementType(), ")");
  if (k[1] * w.groups != x[1])
    return emitOptionalError(
        loc, opName, ": input ", formatShape(x), " has ", x[1],
        " channels but weight ", formatShape(k), " expects ", k[1] * w.groups,
        " (weight.shape[1] * groups = ", k[1], " * ", w.groups, ")");
  if (k[0] % w.groups != 0)
    return emitOptionalError(loc, opName, ": weight ", formatShape(k), " has ",
                             k[0], " output channels, not divisible by groups = ",
                             w.groups);
  auto spatial = outputSpatial(loc, opName, x, k.drop_front(2), w);
  if (failed(spatial))
    return failure();
  return SmallVector<int64_t>{x[0], k[0], spatial->first, spatial->second};
}

FailureOr<Window> readWindow(Operation *op, bool pooling) {
  return readWindow(op->getLoc(), op->getName().stripDialect(),
                    op->getAttrDictionary(), pooling);
}
} // namespace

int64_t Conv2DOp::outputSize(int64_t in, int64_t kernel, int64_t stride,
                             int64_t pad, int64_t dilation) {
  int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  return span / stride + 1;
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

LogicalResult Conv2DOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, RegionRange, SmallVectorImpl<Type> &types) {
  auto window = readWindow(loc, "conv2d", attrs, /*pooling=*/false);
  if (failed(window))
    return failure();
  auto input = tensorOf(operands[0]), weight = tensorOf(operands[1]);
  auto shape = convResultShape(loc, "conv2d", input, weight, *window);
  if (failed(shape))
    return failure();
  types.push_back(RankedTensorType::get(*shape, input.getElementType()));
  return success();
}

/// Both conv2d gradients take grad_output, which must have the shape of the
/// conv2d of `input` with `weight`. In the error, `inputWords` and
/// `weightWords` name the two; the one an op computes is indefinite ("an
/// input" for the input gradient, "a weight" for the weight gradient).
static LogicalResult verifyConvGradOutput(Operation *op, StringRef name,
                                          RankedTensorType input,
                                          RankedTensorType weight,
                                          RankedTensorType gy,
                                          StringRef inputWords,
                                          StringRef weightWords) {
  auto window = readWindow(op, /*pooling=*/false);
  if (failed(window))
    return failure();
  auto expected = convResultShape(op->getLoc(), name, input, weight, *window);
  if (failed(expected))
    return failure();
  if (gy.getShape() != ArrayRef<int64_t>(*expected) ||
      gy.getElementType() != input.getElementType())
    return op->emitOpError("grad_output ")
           << formatShape(gy.getShape()) << " does not match the conv2d of "
           << inputWords << " " << formatShape(input.getShape()) << " with "
           << weightWords << " " << formatShape(weight.getShape())
           << " (expected " << formatShape(*expected) << ")";
  return success();
}

LogicalResult Conv2DInputGradOp::verify() {
  return verifyConvGradOutput(getOperation(), "conv2d_input_grad",
                              tensorOf(getResult()), tensorOf(getWeight()),
                              tensorOf(getGradOutput()), "an input", "weight");
}

LogicalResult Conv2DWeightGradOp::verify() {
  return verifyConvGradOutput(getOperation(), "conv2d_weight_grad",
                              tensorOf(getInput()), tensorOf(getResult()),
                              tensorOf(getGradOutput()), "input", "a weight");
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// The max_pool2d result shape of `input`.
static FailureOr<SmallVector<int64_t>>
poolResultShape(std::optional<Location> loc, StringRef opName,
                RankedTensorType input, const Window &w) {
  ArrayRef<int64_t> x = input.getShape();
  if (x.size() != 4)
    return emitOptionalError(loc, opName,
                             ": expects a 4-D input [N, C, H, W], got ",
                             formatShape(x));
  for (int i = 0; i < 2; ++i)
    if (2 * w.padding[i] > w.kernel[i])
      return emitOptionalError(loc, opName, ": padding ",
                               formatShape(w.padding),
                               " must be at most half the kernel ",
                               formatShape(w.kernel));
  auto spatial = outputSpatial(loc, opName, x, w.kernel, w);
  if (failed(spatial))
    return failure();
  return SmallVector<int64_t>{x[0], x[1], spatial->first, spatial->second};
}

LogicalResult MaxPool2DOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, RegionRange, SmallVectorImpl<Type> &types) {
  auto window = readWindow(loc, "max_pool2d", attrs, /*pooling=*/true);
  if (failed(window))
    return failure();
  auto input = tensorOf(operands[0]);
  auto shape = poolResultShape(loc, "max_pool2d", input, *window);
  if (failed(shape))
    return failure();
  types.push_back(RankedTensorType::get(*shape, input.getElementType()));
  return success();
}

LogicalResult MaxPool2DGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, RegionRange, SmallVectorImpl<Type> &types) {
  auto window = readWindow(loc, "max_pool2d_grad", attrs, /*pooling=*/true);
  if (failed(window))
    return failure();
  auto input = tensorOf(operands[0]), gy = tensorOf(operands[1]);
  auto shape = poolResultShape(loc, "max_pool2d_grad", input, *window);
  if (failed(shape))
    return failure();
  if (gy.getShape() != ArrayRef<int64_t>(*shape) ||
      gy.getElementType() != input.getElementType())
    return emitOptionalError(loc, "max_pool2d_grad: grad_output ",
                             formatShape(gy.getShape()),
                             " does not match the max_pool2d of input ",
                             formatShape(input.getShape()), " (expected ",
                             formatShape(*shape), ")");
  types.push_back(input);
  return success();
}

//===----------------------------------------------------------------------===//
// VJP rules
//===----------------------------------------------------------------------===//
