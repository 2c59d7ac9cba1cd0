//===- atomic_file.h - POSIX file reads and atomic replacement --*- C++ -*-===//
//
// The file I/O under checkpoints: exact positional reads, and writing a file
// atomically (a temporary file in the target's directory, fsync, rename over
// the target), so that a crash or an I/O error never leaves a truncated file
// and never loses the old one.
//
// Temporary files are named "<target>.tmp.<pid>.<n>" and locked (flock) by
// their writer until they are renamed or removed. A writer killed mid-save
// (kill -9, power loss) leaves its temporary file behind; the next save to the
// same target removes such leftovers: those no process holds a lock on.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_ATOMIC_FILE_H
#define KILN_RUNTIME_SRC_ATOMIC_FILE_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// An owned file descriptor, closed on destruction.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int fd) : fd(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd();
};

/// Reads exactly \p n bytes at \p offset; on failure sets \p error (errno text
/// or "unexpected end of file").
bool readAt(int fd, void *buf, uint64_t n, uint64_t offset, std::string &error);

/// A run of bytes to write.
struct ByteRange {
  const void *data;
  uint64_t size;
};

/// Writes \p parts, in order, as the new contents of \p path, atomically. On
/// failure returns false, sets \p error (what failed, without the path of the
/// target) and leaves \p path as it was and no temporary file behind. First
/// removes stale temporary files of \p path (removeStaleTemporaries).
bool writeFileAtomically(const std::string &path, const std::vector<ByteRange> &parts,
                         std::string &error);

/// Removes the temporary files "<path>.tmp.<pid>.<n>" that writeFileAtomically
/// left when its process died: those whose writer holds no lock on them and,
/// where the file system has no locks, whose pid names no live process
/// (kill(pid, 0) fails with ESRCH). Never removes a file another process is
/// writing. Returns how many it removed.
int removeStaleTemporaries(const std::string &path);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_ATOMIC_FILE_H
