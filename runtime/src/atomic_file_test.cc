//===- atomic_file_test.cc - Tests for atomic saves and their leftovers ---===//
//
// A save killed mid-write leaves its temporary file; the next save to the same
// path removes it, but never the temporary file of a live writer (one whose
// pid is alive, or that holds its lock), nor files that only look similar.
// The killed save is real: a child process runs writeSafetensors under a
// file size limit, and SIGXFSZ kills it in the middle of the write.
//
//===----------------------------------------------------------------------===//

#include "atomic_file.h"

#include "kiln/runtime/checkpoint.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <csignal>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

/// A pid that no process has any more: a child that exited and was reaped.
pid_t deadPid() {
  pid_t pid = ::fork();
  if (pid == 0)
    ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

/// Writes a checkpoint of one 4 KB tensor to \p path.
bool save(const std::string &path, float value = 1) {
  std::vector<float> data(1024, value);
  std::string error;
  bool ok = writeSafetensors(path, {{"w", KILN_F32, {1024}, data.data()}}, {}, error);
  EXPECT_TRUE(ok) << error;
  return ok;
}

class AtomicFileTest : public TempDirTest {};

TEST_F(AtomicFileTest, SaveKilledMidWriteIsCleanedUpByTheNextSave) {
  const std::string path = dir + "/ck.safetensors";
  ASSERT_TRUE(save(path, 1));
  const std::vector<uint8_t> before = readFile(path);
  pid_t child = ::fork();
  if (child == 0) {
    struct rlimit small = {1000, 1000};
    ::setrlimit(RLIMIT_FSIZE, &small);
    std::signal(SIGXFSZ, SIG_DFL);
    std::vector<float> data(1024, 2.0f);
    std::string error;
    writeSafetensors(path, {{"w", KILN_F32, {1024}, data.data()}}, {}, error);
    ::_exit(0); // Not reached: the write passes the limit.
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) << status;
  // The killed save left its temporary file and the old checkpoint intact.
  std::vector<std::string> names = listDir(dir);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "ck.safetensors");
  EXPECT_THAT(names[1], testing::StartsWith("ck.safetensors.tmp." + std::to_string(child) + "."));
  EXPECT_EQ(readFile(path), before);

  ASSERT_TRUE(save(path, 3));
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"ck.safetensors"});
}

TEST_F(AtomicFileTest, OnlyAbandonedTemporariesOfTheTargetAreRemoved) {
  const std::string path = dir + "/ck.safetensors";
  const std::string dead = std::to_string(deadPid()), self = std::to_string(::getpid());
  const std::vector<std::string> stale = {"ck.safetensors.tmp." + dead + ".17",
                                          "ck.safetensors.tmp." + dead + ".0"};
  const std::vector<std::string> kept = {
      "ck.safetensors.tmp." + self + ".5",    // Its writer (this process) is alive.
      "ck.safetensors.tmp." + dead + ".9",    // Locked below: a live writer elsewhere.
      "other.safetensors.tmp." + dead + ".1", // Another target's.
      "ck.safetensors.tmp." + dead,           // Not a name a save makes.
      "ck.safetensors.tmp." + dead + ".1x",
      "ck.safetensors.tmp.-" + dead + ".1",
      "ck.safetensors.bak",
  };
  for (const auto &names : {stale, kept})
    for (const std::string &name : names)
      writeFile(dir + "/" + name, {1, 2, 3});
  Fd locked(::open((dir + "/" + kept[1]).c_str(), O_RDWR));
  ASSERT_EQ(::flock(locked.fd, LOCK_EX | LOCK_NB), 0);

  ASSERT_TRUE(save(path));
  std::vector<std::string> expected = kept;
  expected.push_back("ck.safetensors");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listDir(dir), expected);

  // Once its lock is released (its writer died), the file goes.
  ::close(locked.fd);
  locked.fd = -1;
  EXPECT_EQ(removeStaleTemporaries(path), 1);
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kept[1]));
  // A relative path cleans the current directory's leftovers.
  const std::string cwd = std::filesystem::current_path().string();
  std::filesystem::current_path(dir);
  writeFile("ck.safetensors.tmp." + dead + ".3", {1});
  EXPECT_EQ(removeStaleTemporaries("ck.safetensors"), 1);
  std::filesystem::current_path(cwd);
}

TEST_F(AtomicFileTest, ASymbolicLinkAtTheTargetIsNeverReplaced) {
  // The trainer refuses such a --save path up front; this is the last check,
  // for a link that appears while a save is being written.
  const std::string victim = dir + "/victim.bin", link = dir + "/ck.safetensors";
  writeFile(victim, {7, 7, 7});
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  std::string error;
  const char bytes[] = "data";
  EXPECT_FALSE(writeFileAtomically(link, {{bytes, sizeof bytes}}, error));
  EXPECT_THAT(error, ::testing::HasSubstr("symbolic link"));
  struct stat st;
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(readFile(victim), (std::vector<uint8_t>{7, 7, 7}));
  EXPECT_EQ(listDir(dir).size(), 2u) << "no temporary file is left";
}

} // namespace
