/*===- status.c - Status codes of the kiln device runtime -----------------===*/

#include "kiln/device/status.h"

const char *kiln_device_status_text(int status) {
  switch (status) {
  case KILN_DEVICE_OK: return "ok";
  case KILN_DEVICE_INVALID_ARGUMENT: return "invalid argument";
  case KILN_DEVICE_BUFFER_TOO_SMALL: return "buffer too small";
  case KILN_DEVICE_MODEL_FAILED: return "model function failed";
  case KILN_DEVICE_DIVERGED: return "loss is not finite";
  case KILN_DEVICE_READ_FAILED: return "dataset read failed";
  case KILN_DEVICE_BAD_CHECKPOINT: return "malformed checkpoint or not this model's state";
  case KILN_DEVICE_STOPPED: return "stopped by the step callback";
  default: return "unknown status";
  }
}
