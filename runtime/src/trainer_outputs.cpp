//===- trainer_outputs.cpp - The files the trainer writes -----------------===//
//
// See trainer_outputs.h. Every error is a false (or null) return with a
// message naming the flag and the path.
//
//===----------------------------------------------------------------------===//

#include "trainer_outputs.h"

#include "kiln/runtime/checkpoint.h"
#include "file_checks.h"
#include "metrics.h"

#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

/// Opens the --loss-csv file for writing without following a symbolic link
/// or blocking on a FIFO someone put there after the check before training.
std::FILE *openLossCsv(const std::string &path, std::string &error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  0666);
  if (fd < 0) {
    error = "--loss-csv " + path + ": cannot open: " + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "--loss-csv " + path + ": cannot open: not a regular file";
    ::close(fd);
    return nullptr;
  }
  std::FILE *f = ::fdopen(fd, "w");
  if (!f) {
    error = "--loss-csv " + path + ": cannot open: " + std::strerror(errno);
    ::close(fd);
  }
  return f;
}

/// Writes the test-set logits (valid rows only) and labels for --dump-logits.
bool dumpLogits(const kiln_model_info *m, ModelRunner &runner, DataLoader &loader, Batch &batch,
                std::vector<float> &logits, const Dataset &test,
                const std::vector<float> &testTargets, const std::string &path,
                std::string &error) {
  if (!checkOutputPath(path, "--dump-logits", error))
    return false;
  std::vector<float> all;
  all.reserve(static_cast<size_t>(test.size) * m->num_classes);
  Metric metric;
  double testLoss;
  if (!evaluate(m, runner, loader, batch, logits, metric, testLoss, error, &all))
    return false;
  std::vector<TensorRef> tensors = {{"logits", KILN_F32, {test.size, m->num_classes}, all.data()}};
  if (m->task == KILN_TASK_CLASSIFICATION)
    tensors.push_back({"labels", KILN_I32, {test.size}, test.y.data()});
  else
    tensors.push_back({"targets", KILN_F32, {test.size, m->num_classes}, testTargets.data()});
  return writeSafetensors(path, tensors, {{"kiln.model", m->name ? m->name : ""}}, error);
}

/// Checks every file the run will write before it reads data or trains, so a
/// bad path fails at once instead of after the first epoch; two flags naming
/// the same file would have one output overwrite the other.
bool checkOutputs(const TrainerFlags &flags, std::string &error) {
  const std::pair<const char *, const std::string *> outputs[] = {
      {"--save", &flags.save},
      {"--loss-csv", &flags.lossCsv},
      {"--metrics", &flags.metrics},
      {"--dump-logits", &flags.dumpLogits},
      {"--dump-observations", &flags.dumpObservations}};
  for (size_t i = 0; i < std::size(outputs); ++i) {
    const auto &[flag, path] = outputs[i];
    if (path->empty())
      continue;
    if (!checkOutputPath(*path, flag, error))
      return false;
    for (size_t j = 0; j < i; ++j)
      if (*outputs[j].second == *path) {
        error = std::string(outputs[j].first) + " and " + flag + " name the same file " + *path;
        return false;
      }
  }
  return true;
}

} // namespace kiln::runtime
