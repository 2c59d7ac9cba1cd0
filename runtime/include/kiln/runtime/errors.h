//===- errors.h - How the runtime reports errors ----------------*- C++ -*-===//
//
// The host runtime has one error convention, which every header here follows:
//
// - An operation that can fail returns `bool` (a factory: a null pointer or
//   std::nullopt) and sets a `std::string &error` parameter to a message
//   that names what failed and where ("iris.csv:12: column 'petal_width':
//   'abc' is not a number", "DataLoader: batch size must be >= 1, got 0").
//   On failure it leaves what it was asked to write (a file, the arena)
//   unchanged or, where it says so, unspecified but valid.
// - It never throws for bad input. Only std::bad_alloc may escape, from
//   the standard containers; kiln_train_main catches it at the C boundary.
// - Objects whose arguments can be invalid are checked before use: the
//   samplers, transforms and learning-rate schedules store their arguments,
//   and their check() reports invalid ones (DataLoader::create and
//   parseLrSchedule call it); a DataLoader is made by DataLoader::create.
//
// Why not exceptions: the trainer must turn every failure into a message
// and an exit status without losing what it already gathered, so a failure
// inside an epoch goes through the one path that ends the progress line and
// writes the metrics CSV; a status return keeps that path visible at each
// call, and most of the runtime (file formats, checkpoints, the model runners)
// is written this way. The C boundary (trainer.h, model_abi.h) and the C
// device runtime (runtime/device, cuda.h) use integer status codes instead.
//
// Names: types are UpperCamelCase, functions and methods lowerCamelCase
// (readCsv, parseLrSchedule, DataLoader::startEpoch), C functions
// kiln_snake_case; the fields of the public option and data structs are
// snake_case, as their PyTorch and NumPy counterparts (batch_size, drop_last,
// label_column, LoadOptions::parameters_only).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_ERRORS_H
#define KILN_RUNTIME_ERRORS_H
#endif // KILN_RUNTIME_ERRORS_H
