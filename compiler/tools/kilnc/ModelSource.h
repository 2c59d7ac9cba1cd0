//===- ModelSource.h - kilnc on a model's C++ source ------------*- C++ -*-===//
//
// `kilnc model.cpp -o model.o` compiles a model without CMake: kilnc builds
// the model's generator (the DSL program linked with the generator's main),
// runs it with kilnc's flags, and removes it again.
//
//===----------------------------------------------------------------------===//
#ifndef KILNC_MODELSOURCE_H
#define KILNC_MODELSOURCE_H

#include "kiln/Driver/Driver.h"

namespace kiln {

/// Whether kilnc's input is a model's C++ source rather than IR.
bool isModelSource(llvm::StringRef input);

/// Builds the generator of `options.input` and runs it with `options.flags`.
/// `argv0` locates kilnc, and with it the DSL headers and libraries. Errors
/// go to stderr; returns a process exit code.
int compileModelSource(const char *argv0, const DriverOptions &options);

} // namespace kiln

#endif // KILNC_MODELSOURCE_H
