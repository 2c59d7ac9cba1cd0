/*===- cuda.h - kiln's CUDA runtime (C ABI) ------------------------------===//
 *
 * Code compiled with --target=nvptx64-nvidia-cuda calls kiln_cuda_launch;
 * trainers and tests use the rest. libcuda.so.1 is opened with dlopen on
 * first use, so nothing here needs CUDA to build or to run CPU models, and
 * a machine without a GPU gets an error message instead of a crash.
 *
 * One process-wide context (the device's primary context) and one stream.
 * Every function returns 0 on success or a KILN_CUDA_* code; the message
 * of the first error is kept by kiln_cuda_last_error() and, once an error
 * happened, later launches do nothing (the step's result would be garbage
 * anyway) until kiln_cuda_reset_error().
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_CUDA_H
#define KILN_RUNTIME_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  KILN_CUDA_OK = 0,
  KILN_CUDA_NO_DRIVER = 1, /* libcuda.so.1 missing or incomplete */
  KILN_CUDA_NO_DEVICE = 2, /* cuInit/cuDeviceGet failed, or no device */
  KILN_CUDA_FAILED = 3,    /* a driver call failed; see the message */
};

/* A device address (CUdeviceptr). */
typedef uint64_t kiln_cuda_ptr;

/* Loads the driver, initializes device `ordinal` (usually 0), retains its
 * primary context and creates the stream. Idempotent. */
int kiln_cuda_init(int ordinal);
/* The first error's message, or "" when none. */
const char *kiln_cuda_last_error(void);
void kiln_cuda_reset_error(void);
/* Name of the device, after a successful init. */
const char *kiln_cuda_device_name(void);

int kiln_cuda_malloc(kiln_cuda_ptr *out, size_t bytes);
int kiln_cuda_free(kiln_cuda_ptr ptr);
/* Page-locked host memory, so copies can overlap kernels. */
int kiln_cuda_malloc_host(void **out, size_t bytes);
int kiln_cuda_free_host(void *ptr);
/* Asynchronous on the stream (synchronous for pageable host memory). */
int kiln_cuda_copy_to_device(kiln_cuda_ptr dst, const void *src, size_t bytes);
int kiln_cuda_copy_to_host(void *dst, kiln_cuda_ptr src, size_t bytes);
int kiln_cuda_copy_on_device(kiln_cuda_ptr dst, kiln_cuda_ptr src,
                             size_t bytes);
int kiln_cuda_memset(kiln_cuda_ptr dst, uint8_t value, size_t bytes);
/* Waits for both streams; returns the first error of anything before. */
int kiln_cuda_synchronize(void);

/* Stream events, to know when the host may reuse a pinned buffer an
 * asynchronous copy reads: record after the copy, wait before reusing. */
typedef struct kiln_cuda_event_st *kiln_cuda_event;
int kiln_cuda_event_create(kiln_cuda_event *out);
int kiln_cuda_event_record(kiln_cuda_event event);
/* Blocks the host until the work enqueued before the record has run. */
int kiln_cuda_event_wait(kiln_cuda_event event);
int kiln_cuda_event_destroy(kiln_cuda_event event);

/* Input copies beside the kernels. kiln has a second stream for copies to
 * the device, so a batch's copy runs while the previous step's kernels do.
 * This copies `bytes` of (pinned) host memory to `dst` on that stream after
 * `after` (an event recorded on the kernel stream once the last work
 * reading `dst` was enqueued; null: nothing to wait for) and records
 * `done` on the copy stream when the copy has run. The host may refill
 * `src` after kiln_cuda_event_wait(done); kernels may read `dst` after
 * kiln_cuda_stream_wait(done). */
int kiln_cuda_copy_to_device_beside(kiln_cuda_ptr dst, const void *src,
                                    size_t bytes, kiln_cuda_event after,
                                    kiln_cuda_event done);
/* Work enqueued on the kernel stream from now on waits for `event` (recorded
 * on either stream); the host does not wait. */
int kiln_cuda_stream_wait(kiln_cuda_event event);

/* CUDA graphs: a step's launches, recorded once and replayed with one call
 * (a step of a small model is a few dozen short kernels; replaying them
 * costs about a microsecond each instead of a launch's several). Between
 * begin and end, launches and copies on kiln's stream are recorded, not
 * run (and nothing may wait for the stream); end instantiates the graph.
 * A replay uses the pointers and kernel parameters of the recording: the
 * same buffers, whose contents may change. Needs driver 11.4 or later. */
typedef struct kiln_cuda_graph_st *kiln_cuda_graph;
int kiln_cuda_capture_begin(void);
int kiln_cuda_capture_end(kiln_cuda_graph *out);
/* Enqueues a replay on kiln's stream. */
int kiln_cuda_graph_launch(kiln_cuda_graph graph);
int kiln_cuda_graph_destroy(kiln_cuda_graph graph);

/* Called by generated code. `ptx` is a NUL-terminated PTX image, loaded
 * once per address; `kernel` its entry's name (function handles are cached
 * by the name's address). `params` holds `num_params` 8-byte kernel
 * parameters. Enqueues <<<grid, block>>> on the stream. */
int32_t kiln_cuda_launch(const char *ptx, const char *kernel, uint32_t grid,
                         uint32_t block, const uint64_t *params,
                         int32_t num_params);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_CUDA_H */
