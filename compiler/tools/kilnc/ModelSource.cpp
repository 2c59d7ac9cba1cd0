//===- ModelSource.cpp - kilnc on a model's C++ source --------------------===//
//
// The generator is built the way kiln_add_model builds it (cmake/
// KilnModel.cmake): the model source compiled with the C++ compiler kiln was
// configured with, linked with the generator's main, the DSL and the compiler
// libraries, and MLIR/LLVM. Headers and libraries are found relative to
// kilnc itself: in the build tree it was built in, or in the installation it
// was copied to (<prefix>/bin/kilnc, <prefix>/include, <prefix>/lib).
//
//===----------------------------------------------------------------------===//

#include "ModelSource.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace {
// kCxxCompiler, kCxxStandardFlag, kBuildTreeBinDir, kBuildTreeIncludeDir,
// kInstalledIncludeDir, kInstalledLibDir, kGeneratorLibraries,
// kSharedLibraries, kSharedLibraryDir: written by compiler/tools/CMakeLists.txt.
#include "GeneratorToolchain.inc"

/// What building a generator needs: a compiler, the DSL headers and the
/// libraries in link order.
struct GeneratorToolchain {
  std::string compiler;
  std::string includeDir;
  std::vector<std::string> libraries;
};

std::string pathUnder(llvm::StringRef directory, llvm::StringRef relative) {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, relative);
  llvm::sys::path::remove_dots(path, /*remove_dot_dot=*/true);
  return path.str().str();
}

/// The C++ compiler: $KILN_CXX, else the one kiln was configured with; a
/// bare name is looked up in PATH.
bool findCompiler(std::string &compiler, std::string &error) {
  std::optional<std::string> fromEnvironment =
      llvm::sys::Process::GetEnv("KILN_CXX");
  std::string wanted = fromEnvironment.value_or(kCxxCompiler);
  llvm::StringRef origin =
      fromEnvironment ? "KILN_CXX names" : "kiln was configured with";
  if (llvm::sys::path::has_parent_path(wanted)) {
    if (llvm::sys::fs::can_execute(wanted)) {
      compiler = wanted;
      return true;
    }
  } else if (llvm::ErrorOr<std::string> found =
                 llvm::sys::findProgramByName(wanted)) {
    compiler = *found;
    return true;
  }
  error = ("the C++ compiler " + origin + ", '" + wanted +
           "', was not found (set KILN_CXX to a C++20 compiler)")
              .str();
  return false;
}

/// The DSL headers and the libraries beside kilnc; an error names the
/// first one missing.
bool findKilnFiles(const char *argv0, GeneratorToolchain &toolchain,
                   std::string &error) {
  static int anchor;
  std::string executable = llvm::sys::fs::getMainExecutable(argv0, &anchor);
  llvm::StringRef binDir = llvm::sys::path::parent_path(executable);
  bool inBuildTree = llvm::sys::fs::equivalent(binDir, kBuildTreeBinDir);
  toolchain.includeDir = inBuildTree ? std::string(kBuildTreeIncludeDir)
                                     : pathUnder(binDir, kInstalledIncludeDir);
  std::string libDir = pathUnder(binDir, kInstalledLibDir);
  std::string where = inBuildTree ? "in the build tree of " + executable
                                  : "beside " + executable;
  std::string header = pathUnder(toolchain.includeDir, "kiln/dsl/kiln.h");
  if (!llvm::sys::fs::exists(header)) {
    error = "the kiln DSL headers are missing: no " + header + " " + where +
            " (install kiln with `cmake --install`, and run the installed "
            "kilnc)";
    return false;
  }
  for (const GeneratorLibrary &library : kGeneratorLibraries) {
    std::string path = inBuildTree ? std::string(library.buildTreePath)
                                   : pathUnder(libDir, library.fileName);
    if (!llvm::sys::fs::exists(path)) {
      error = "a kiln library is missing: no " + path + " " + where;
      return false;
    }
    toolchain.libraries.push_back(path);
  }
  for (const char *library : kSharedLibraries)
    toolchain.libraries.push_back(library);
  return true;
}

std::string commandLine(llvm::ArrayRef<llvm::StringRef> arguments) {
  std::string line;
  llvm::raw_string_ostream os(line);
  llvm::interleave(arguments, os, " ");
  return line;
}

/// Runs a program with kilnc's stdin, stdout and stderr; returns its exit
/// code, or -1 with `error` set when it could not run.
int run(llvm::StringRef program, llvm::ArrayRef<llvm::StringRef> arguments,
        std::string &error) {
  return llvm::sys::ExecuteAndWait(program, arguments, /*Env=*/std::nullopt,
                                   /*Redirects=*/{}, /*SecondsToWait=*/0,
                                   /*MemoryLimit=*/0, &error);
}

/// Removes the temporary directory of the generator however kilnc returns.
struct TemporaryDirectory {
  llvm::SmallString<256> path;
  ~TemporaryDirectory() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
};
} // namespace

bool kiln::isModelSource(llvm::StringRef input) {
  return llvm::StringSwitch<bool>(llvm::sys::path::extension(input))
      .Cases(".cpp", ".cc", ".cxx", ".c++", ".C", true)
      .Default(false);
}

int kiln::compileModelSource(const char *argv0, const DriverOptions &options) {
  const std::string &source = options.input;
  auto fail = [&](const std::string &message) {
    llvm::errs() << "kilnc: error: cannot build the generator of '" << source
                 << "': " << message << "\n";
    return 1;
  };
  if (!llvm::sys::fs::is_regular_file(source))
    return fail("no such file");
  GeneratorToolchain toolchain;
  std::string error;
  if (!findCompiler(toolchain.compiler, error) ||
      !findKilnFiles(argv0, toolchain, error))
    return fail(error);

  TemporaryDirectory scratch;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("kilnc", scratch.path))
    return fail("cannot create a temporary directory: " + ec.message());
  // The generator names itself in its messages: call it <model>-gen, as
  // kiln_add_model does.
  std::string generator =
      pathUnder(scratch.path, llvm::sys::path::stem(source).str() + "-gen");
  std::string rpath = std::string("-Wl,-rpath,") + kSharedLibraryDir;
  std::vector<llvm::StringRef> compile = {
      toolchain.compiler, kCxxStandardFlag, "-fexceptions", "-I",
      toolchain.includeDir, source};
  compile.insert(compile.end(), toolchain.libraries.begin(),
                 toolchain.libraries.end());
  compile.insert(compile.end(), {rpath, "-o", generator});
  // The compiler's diagnostics reach the user directly (stderr is shared).
  int status = run(toolchain.compiler, compile, error);
  if (status != 0) {
    std::string reason = status < 0 ? error
                                    : "it does not compile (the compiler's "
                                      "messages are above)";
    return fail(reason + "; the command was:\n  " + commandLine(compile));
  }

  std::vector<llvm::StringRef> arguments = {generator};
  arguments.insert(arguments.end(), options.flags.begin(), options.flags.end());
  status = run(generator, arguments, error);
  if (status < 0) {
    llvm::errs() << "kilnc: error: cannot run the generator of '" << source
                 << "': " << error << "\n";
    return 1;
  }
  return status;
}
