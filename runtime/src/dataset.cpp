//===- dataset.cpp - In-memory classification datasets --------------------===//
//
// Turns IDX image/label pairs into a Dataset and knows the Fashion-MNIST file
// naming. All validation that depends on both files (matching counts, types,
// ranks) lives here; single-file validation is readIdx's job.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataset.h"

#include <filesystem>
#include <system_error>

namespace kiln::runtime {

namespace {

/// Resolves "<dir>/<name>.gz", falling back to the uncompressed "<dir>/<name>".
/// When neither exists the .gz path is returned so the error names the file
/// the official distribution ships.
std::string resolve(const std::string &dir, const std::string &name) {
  std::filesystem::path base = std::filesystem::path(dir) / name;
  std::filesystem::path gz = base;
  gz += ".gz";
  std::error_code ec;
  if (!std::filesystem::exists(gz, ec) && std::filesystem::exists(base, ec))
    return base.string();
  return gz.string();
}

std::string shapeString(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += 'x';
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

} // namespace

int64_t Dataset::sampleElements() const {
  int64_t n = 1;
  for (int64_t d : sample_shape)
    n *= d;
  return n;
}

bool makeImageDataset(const IdxArray &images, const IdxArray &labels,
                      const std::string &imagesName, const std::string &labelsName,
                      Dataset &out, std::string &error) {
  out = Dataset{};
  if (images.type != IdxType::UInt8 || images.dims.size() < 2) {
    error = imagesName + ": expected uint8 images of rank >= 2, got rank " +
            std::to_string(images.dims.size()) + " " + shapeString(images.dims);
    return false;
  }
  if (labels.type != IdxType::UInt8 || labels.dims.size() != 1) {
    error = labelsName + ": expected uint8 labels of rank 1, got rank " +
            std::to_string(labels.dims.size()) + " " + shapeString(labels.dims);
    return false;
  }
  int64_t count = images.dims[0];
  if (labels.dims[0] != count) {
    error = "image/label count mismatch: " + imagesName + " has " +
            std::to_string(count) + " images but " + labelsName + " has " +
            std::to_string(labels.dims[0]) + " labels";
    return false;
  }

  out.size = count;
  out.sample_shape.assign(images.dims.begin() + 1, images.dims.end());
  // Multiplying by the reciprocal differs from dividing by 255 in the last
  // ulp for some values; dividing keeps 255 -> exactly 1.0f.
  out.x.resize(images.data.size());
  for (size_t i = 0; i < images.data.size(); ++i)
    out.x[i] = static_cast<float>(images.data[i]) / 255.0f;
  out.y.assign(labels.data.begin(), labels.data.end());
  return true;
}

bool loadFashionMnist(const std::string &dir, bool train, Dataset &out,
                      std::string &error) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string imagesPath = resolve(dir, prefix + "-images-idx3-ubyte");
  const std::string labelsPath = resolve(dir, prefix + "-labels-idx1-ubyte");

  IdxArray images, labels;
  if (!readIdx(imagesPath, images, error) || !readIdx(labelsPath, labels, error))
    return false;
  return makeImageDataset(images, labels, imagesPath, labelsPath, out, error);
}

} // namespace kiln::runtime
