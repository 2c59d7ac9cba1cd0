/*===- status.h - Status codes of the kiln device runtime ---------*- C -*-===//
 *
 * Every function of the device runtime that can fail returns one of these
 * (0 is success), as IREE's and Halide's C runtimes do: no exceptions, no
 * errno, no messages that need stdio. kiln_device_status_text gives a short
 * constant description for logs.
 *
 * Thread safety: everything here is reentrant.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_DEVICE_STATUS_H
#define KILN_DEVICE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
  KILN_DEVICE_OK = 0,
  KILN_DEVICE_INVALID_ARGUMENT = 1, /**< null pointer, bad size or schedule */
  KILN_DEVICE_BUFFER_TOO_SMALL = 2, /**< workspace or checkpoint buffer */
  KILN_DEVICE_MODEL_FAILED = 3,     /**< init/train_step/predict returned != 0 */
  KILN_DEVICE_DIVERGED = 4,         /**< a loss became NaN or infinite */
  KILN_DEVICE_READ_FAILED = 5,      /**< the dataset's read callback failed */
  KILN_DEVICE_BAD_CHECKPOINT = 6,   /**< malformed, or not this model's state */
  KILN_DEVICE_STOPPED = 7           /**< a step callback asked to stop */
};

/** A constant, human-readable description of \p status. */
const char *kiln_device_status_text(int status);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DEVICE_STATUS_H */
