//===- file_checks.h - Checks on the files the runtime reads and writes -*- C++ -*-===//
//
// The loaders and the trainer take file names from the command line, and a
// name can point at something that is not a file: a FIFO (reading blocks
// forever), /dev/zero (reading never ends), a symbolic link or a device node
// (writing through it replaces or damages what it points at). These checks run
// before any byte is read or written, so such a name gives an error naming
// it. Also here: the one way error messages quote untrusted text (file
// contents, flag values), so a message never carries a raw NUL byte or a
// megabyte-long header line. Private to the runtime: not installed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_FILE_CHECKS_H
#define KILN_RUNTIME_SRC_FILE_CHECKS_H

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::runtime {

/// \p text as an error message may show it: bytes outside printable ASCII
/// (NUL, control characters, UTF-8 continuation bytes alike) become "\xNN",
/// a backslash becomes "\\", and text longer than \p maxBytes is cut there and
/// followed by "... (N bytes)" with N its full length.
std::string printableExcerpt(std::string_view text, size_t maxBytes = 200);

/// Checks that \p path names a regular file (symbolic links to one are fine)
/// of at most \p maxBytes bytes, without opening it. On success sets
/// \p size; otherwise returns false and sets \p error to "<path>: <reason>",
/// e.g. "data.csv: cannot read: it is a FIFO, not a regular file".
bool checkInputFile(const std::string &path, uint64_t maxBytes, uint64_t &size,
                    std::string &error);

/// Checks that the trainer may write \p path, named by \p flag: an existing
/// path must be a regular file itself (not a symbolic link, directory, FIFO,
/// socket or device node, each of which a write or an atomic rename would
/// damage or replace); a new path needs an existing, writable parent
/// directory. On failure returns false and sets \p error to
/// "<flag> <path>: <reason>".
bool checkOutputPath(const std::string &path, const char *flag, std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_FILE_CHECKS_H
