//===- atomic_file.cpp - POSIX file reads and atomic replacement ----------===//
//
// Implements atomic_file.h with POSIX calls (pread, fsync, rename, flock),
// which atomic replacement needs anyway.
//
// Why a lock and a pid: a writer's pid alone cannot tell a stale temporary
// file from a live one when the writer runs in another pid namespace (a
// container sharing the directory) or on another host (NFS), and a reused pid
// would keep a stale file forever. The writer's flock is released by the
// kernel whenever its process dies, however it dies. A cleaner removes a file
// only if it can take that lock and the pid is dead too, which keeps it safe
// even where locks silently do nothing. The writer checks after locking that
// its file still has a name, so a cleaner that slipped in between open and
// flock costs a retry, not a lost save.
//
//===----------------------------------------------------------------------===//

#include "atomic_file.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

namespace {

bool writeAll(int fd, const void *buf, uint64_t n) {
  const auto *p = static_cast<const char *>(buf);
  while (n > 0) {
    ssize_t put = ::write(fd, p, std::min<uint64_t>(n, 1u << 30));
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0) {
      if (put == 0)
        errno = EIO;
      return false;
    }
    p += put;
    n -= static_cast<uint64_t>(put);
  }
  return true;
}

/// The pid in a temporary file name "<base>.tmp.<pid>.<n>", or 0 if \p name is
/// no temporary file of \p base.
pid_t temporaryFileOwner(std::string_view name, std::string_view base) {
  const std::string_view tag = ".tmp.";
  if (name.size() <= base.size() + tag.size() || name.substr(0, base.size()) != base ||
      name.substr(base.size(), tag.size()) != tag)
    return 0;
  const std::string_view rest = name.substr(base.size() + tag.size()); // "<pid>.<n>"
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot + 1 == rest.size() ||
      rest.find_first_not_of("0123456789", dot + 1) != std::string_view::npos)
    return 0;
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + dot, pid);
  if (ec != std::errc() || end != rest.data() + dot || pid <= 0)
    return 0;
  return pid;
}

/// Whether no process can be writing \p file (owned by \p pid): it is not
/// locked and the pid is dead. The lock, if taken, is held by \p fd.
bool isAbandoned(int fd, pid_t pid) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    return false; // Its writer is alive (other errors: no locks here).
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

Fd::~Fd() {
  if (fd >= 0)
    ::close(fd);
}

bool readAt(int fd, void *buf, uint64_t n, uint64_t offset, std::string &error) {
  auto *p = static_cast<char *>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, std::min<uint64_t>(n, 1u << 30), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      error = got < 0 ? std::strerror(errno) : "unexpected end of file";
      return false;
    }
    p += got;
    n -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

int removeStaleTemporaries(const std::string &path) {
  const std::filesystem::path target(path);
  const std::string base = target.filename().string();
  std::filesystem::path dir = target.parent_path();
  if (dir.empty())
    dir = ".";
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  int removed = 0;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const pid_t pid = temporaryFileOwner(name, base);
    if (!pid)
      continue;
    const std::string candidate = (dir / name).string();
    Fd file(::open(candidate.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat opened, named;
    if (file.fd < 0 || ::fstat(file.fd, &opened) != 0 || !S_ISREG(opened.st_mode) ||
        !isAbandoned(file.fd, pid))
      continue;
    // Remove only the file checked, not one a new writer put under the name.
    if (::lstat(candidate.c_str(), &named) == 0 && named.st_dev == opened.st_dev &&
        named.st_ino == opened.st_ino && ::unlink(candidate.c_str()) == 0)
      ++removed;
  }
  return removed;
}

bool writeFileAtomically(const std::string &path, const std::vector<ByteRange> &parts,
                         std::string &error) {
  removeStaleTemporaries(path);
  // A unique temporary name in the target's directory, so that rename() is
  // atomic (same file system); O_EXCL guards against collisions.
  std::string tmp;
  Fd file;
  const uint64_t salt = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count() ^
      std::hash<std::thread::id>()(std::this_thread::get_id()));
  for (uint64_t attempt = 0; attempt < 100 && file.fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
          std::to_string((salt + attempt) % 1000000007);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      break;
    if (fd < 0)
      continue;
    // Locked for as long as we write; a cleaner that locked it first may
    // have removed it (then it has no link left): take another name.
    struct stat st;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      ::unlink(tmp.c_str()); // The cleaner keeps files of live pids.
      ::close(fd);
    } else if (::fstat(fd, &st) == 0 && st.st_nlink == 0) {
      ::close(fd);
    } else {
      file.fd = fd;
    }
  }
  if (file.fd < 0) {
    error = "cannot create temporary file " + tmp + ": " + std::strerror(errno);
    return false;
  }
  const char *failed = nullptr; // The step that failed, if any.
  for (size_t i = 0; !failed && i < parts.size(); ++i)
    if (!writeAll(file.fd, parts[i].data, parts[i].size))
      failed = "write";
  if (!failed && ::fsync(file.fd) != 0)
    failed = "fsync";
  // The caller checked the target before it started, but a symbolic link or
  // device node may have been put there since: rename() would replace it.
  // Checked again as late as possible (a window remains; it is far shorter).
  struct stat target;
  if (!failed && ::lstat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode)) {
    ::unlink(tmp.c_str());
    error = "refusing to replace something that is not a regular file (a " +
            std::string(S_ISLNK(target.st_mode) ? "symbolic link" : "special file") +
            " appeared at the target)";
    return false;
  }
  // Renamed while still locked, so that no cleaner can take the file between
  // close and rename. close() cannot lose data that fsync has written.
  if (!failed && ::rename(tmp.c_str(), path.c_str()) != 0)
    failed = "rename";
  if (failed) {
    const int savedErrno = errno;
    ::unlink(tmp.c_str());
    error = std::string(failed) + " failed: " + std::strerror(savedErrno);
    return false;
  }
  // Persist the rename itself. The new file is complete either way, so a
  // failure here (some file systems refuse fsync on directories) is ignored.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  Fd dirFd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.fd >= 0)
    (void)::fsync(dirFd.fd);
  return true;
}

} // namespace kiln::runtime
