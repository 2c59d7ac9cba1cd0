//===- file_checks.cpp - Checks on the files the runtime reads and writes -===//
//
// lstat/stat based checks (see file_checks.h). They narrow, not close, the
// window in which another process could swap a file: the trainer repeats the
// output check right before each write, and the loaders open only after the
// input check, so a FIFO or a device named on the command line never blocks
// or floods a read.
//
//===----------------------------------------------------------------------===//

#include "file_checks.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

namespace {

/// What kind of non-regular file \p mode describes, for messages.
const char *fileKind(mode_t mode) {
  if (S_ISLNK(mode))
    return "a symbolic link";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

} // namespace

std::string printableExcerpt(std::string_view text, size_t maxBytes) {
  std::string out;
  const size_t shown = std::min(text.size(), maxBytes);
  out.reserve(shown + 24);
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  if (shown < text.size())
    out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

bool checkInputFile(const std::string &path, uint64_t maxBytes, uint64_t &size,
                    std::string &error) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    error = path + ": cannot open: is a directory";
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": cannot read: it is " + fileKind(st.st_mode) +
            ", not a regular file (data files must be regular files)";
    return false;
  }
  size = static_cast<uint64_t>(st.st_size);
  if (size > maxBytes) {
    error = path + ": file of " + std::to_string(size) + " bytes exceeds the limit of " +
            std::to_string(maxBytes) + " bytes";
    return false;
  }
  return true;
}

bool checkOutputPath(const std::string &path, const char *flag, std::string &error) {
  const std::string where = std::string(flag) + " " + path + ": ";
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      error = where + "refusing to replace " + fileKind(st.st_mode) +
              "; give a regular file or a new path";
      return false;
    }
    if (::access(path.c_str(), W_OK) != 0) {
      error = where + "cannot write: " + std::strerror(errno);
      return false;
    }
  } else if (errno != ENOENT && errno != ENOTDIR) {
    error = where + "cannot check: " + std::strerror(errno);
    return false;
  }
  // Writers create a temporary file beside the target and rename it, so the
  // directory must be writable even when the file already exists.
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  if (::stat(dir.c_str(), &st) != 0) {
    error = where + "cannot write: directory " + dir + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = where + "cannot write: " + dir + " is not a directory";
    return false;
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    error = where + "cannot write: directory " + dir + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

} // namespace kiln::runtime
