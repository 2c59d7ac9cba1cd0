/*===- trainer.h - Command-line trainer for compiled models -------*- C -*-===//
 *
 * One trainer drives every model kilnc compiles: a model's main() is just
 *
 *   #include "kiln/runtime/trainer.h"
 *   #include "my_model.h"          // generated; defines kiln_model_info
 *   int main(int argc, char** argv) {
 *     return kiln_train_main(&my_model_info, argc, argv);
 *   }
 *
 * The trainer loads Fashion-MNIST, allocates the model's arena, trains with
 * shuffled static-size batches and reports test accuracy after every epoch.
 * With --save, --resume and --init-from it writes and reads safetensors
 * checkpoints of the model's state (checkpoint.h, docs/checkpoints.md).
 * Run the binary with --help for the flags.
 *
 * Thread safety: kiln_train_main may run concurrently with itself only for
 * distinct output files; it keeps no global state of its own.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_RUNTIME_TRAINER_H
#define KILN_RUNTIME_TRAINER_H

#include "kiln/runtime/model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Exit statuses of kiln_train_main. */
enum {
  KILN_TRAIN_OK = 0,          /**< trained (or --help printed) */
  KILN_TRAIN_FAILED = 1,      /**< data, model or I/O error, or divergence */
  KILN_TRAIN_USAGE_ERROR = 2, /**< bad command-line flags */
};

/** Parses argv (argv[0] is the program name), trains \p model and prints
 *  progress to stdout and errors to stderr. Returns one of the KILN_TRAIN_*
 *  statuses, suitable as a process exit code; never throws or aborts on bad
 *  input. */
int kiln_train_main(const kiln_model_info* model, int argc, char** argv);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_TRAINER_H */
