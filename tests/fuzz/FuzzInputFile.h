//===- FuzzInputFile.h - fuzz input as a file path for path-based readers -===//
//
// readIdx, readNpy and the checkpoint loader take a path, not bytes. Each
// fuzz input is written to one anonymous in-memory file (memfd) that lives
// for the whole process and is reached as /proc/self/fd/N: no disk traffic,
// nothing left behind when a run crashes, and regular-file semantics
// (stat, file_size, gzopen) for the readers.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_FUZZ_FUZZINPUTFILE_H
#define KILN_TESTS_FUZZ_FUZZINPUTFILE_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

namespace kiln::fuzz {

class FuzzInputFile {
public:
  explicit FuzzInputFile(const char *name) : fd_(memfd_create(name, 0)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }

  /// Replaces the file's contents with \p data and returns its path.
  const std::string &write(const uint8_t *data, size_t size) {
    if (ftruncate(fd_, 0) != 0 ||
        (size && pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size))) {
      std::perror("writing the fuzz input file");
      std::abort();
    }
    return path_;
  }

private:
  int fd_;
  std::string path_;
};

} // namespace kiln::fuzz

#endif // KILN_TESTS_FUZZ_FUZZINPUTFILE_H
