/*===- cuda.c - kiln's CUDA runtime over the driver API, via dlopen -------===//
 *
 * Declares the few driver entry points it needs itself (no CUDA headers at
 * build time) and resolves them from libcuda.so.1 at first use. The `_v2`
 * symbols are the ones the driver exports for 64-bit device pointers.
 *
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime/cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult; /* CUDA_SUCCESS == 0 */
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

enum { kJitErrorLogBuffer = 5, kJitErrorLogBufferSize = 6 };
enum { kStreamNonBlocking = 1 };
/* CU_STREAM_CAPTURE_MODE_RELAXED: the first launch of a kernel may load its
 * module while the stream records (the stricter modes forbid that). */
enum { kCaptureModeRelaxed = 2 };

static struct {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                               void **);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*memAlloc)(kiln_cuda_ptr *, size_t);
  CUresult (*memFree)(kiln_cuda_ptr);
  CUresult (*memAllocHost)(void **, size_t);
  CUresult (*memFreeHost)(void *);
  CUresult (*memcpyHtoDAsync)(kiln_cuda_ptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoHAsync)(void *, kiln_cuda_ptr, size_t, CUstream);
  CUresult (*memsetD8Async)(kiln_cuda_ptr, unsigned char, size_t, CUstream);
  CUresult (*memcpyDtoDAsync)(kiln_cuda_ptr, kiln_cuda_ptr, size_t, CUstream);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*streamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
  /* CUDA graphs (driver 11.4 and later); null where the driver lacks them. */
  CUresult (*streamBeginCapture)(CUstream, int);
  CUresult (*streamEndCapture)(CUstream, CUgraph *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*graphDestroy)(CUgraph);
} cu;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initStatus = -1; /* -1: not tried yet */
static CUcontext context;
static CUstream stream;     /* kernels, copies to the host, graphs */
static CUstream copyStream; /* copies to the device beside the kernels */
static char deviceName[256];
static char lastError[1024];
static int stickyError;

static int fail(int code, const char *format, ...) {
  if (!stickyError) {
    va_list args;
    va_start(args, format);
    vsnprintf(lastError, sizeof lastError, format, args);
    va_end(args);
    stickyError = code;
  }
  return code;
}

static void describe(CUresult result, const char **name, const char **text) {
  *name = "unknown error";
  *text = "";
  if (cu.getErrorName)
    cu.getErrorName(result, name);
  if (cu.getErrorString)
    cu.getErrorString(result, text);
}

/* "cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)" */
static int failDriver(CUresult result, const char *call) {
  const char *name, *text;
  describe(result, &name, &text);
  return fail(KILN_CUDA_FAILED, "%s failed: %s (%s)", call, name, text);
}

#define CHECK(call, what)                                                      \
  do {                                                                         \
    CUresult result_ = (call);                                                 \
    if (result_ != 0)                                                          \
      return failDriver(result_, what);                                        \
  } while (0)

static int loadDriver(void) {
  const char *path = getenv("KILN_CUDA_LIBRARY");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return fail(KILN_CUDA_NO_DRIVER, "no CUDA device: %s not found (%s)", path,
                dlerror());
  struct {
    void **slot;
    const char *name;
  } symbols[] = {
      {(void **)&cu.init, "cuInit"},
      {(void **)&cu.deviceGetCount, "cuDeviceGetCount"},
      {(void **)&cu.deviceGet, "cuDeviceGet"},
      {(void **)&cu.deviceGetName, "cuDeviceGetName"},
      {(void **)&cu.primaryCtxRetain, "cuDevicePrimaryCtxRetain"},
      {(void **)&cu.ctxSetCurrent, "cuCtxSetCurrent"},
      {(void **)&cu.streamCreate, "cuStreamCreate"},
      {(void **)&cu.streamSynchronize, "cuStreamSynchronize"},
      {(void **)&cu.moduleLoadDataEx, "cuModuleLoadDataEx"},
      {(void **)&cu.moduleGetFunction, "cuModuleGetFunction"},
      {(void **)&cu.memAlloc, "cuMemAlloc_v2"},
      {(void **)&cu.memFree, "cuMemFree_v2"},
      {(void **)&cu.memAllocHost, "cuMemAllocHost_v2"},
      {(void **)&cu.memFreeHost, "cuMemFreeHost"},
      {(void **)&cu.memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
      {(void **)&cu.memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
      {(void **)&cu.memsetD8Async, "cuMemsetD8Async"},
      {(void **)&cu.memcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"},
      {(void **)&cu.launchKernel, "cuLaunchKernel"},
      {(void **)&cu.eventCreate, "cuEventCreate"},
      {(void **)&cu.eventRecord, "cuEventRecord"},
      {(void **)&cu.eventSynchronize, "cuEventSynchronize"},
      {(void **)&cu.eventDestroy, "cuEventDestroy_v2"},
      {(void **)&cu.streamWaitEvent, "cuStreamWaitEvent"},
      {(void **)&cu.getErrorName, "cuGetErrorName"},
      {(void **)&cu.getErrorString, "cuGetErrorString"},
  };
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; ++i) {
    *symbols[i].slot = dlsym(library, symbols[i].name);
    if (!*symbols[i].slot) {
      memset(&cu, 0, sizeof cu);
      dlclose(library);
      return fail(KILN_CUDA_NO_DRIVER,
                  "no CUDA device: %s lacks the driver entry point %s", path,
                  symbols[i].name);
    }
  }
  struct {
    void **slot;
    const char *name;
  } graphSymbols[] = {
      {(void **)&cu.streamBeginCapture, "cuStreamBeginCapture_v2"},
      {(void **)&cu.streamEndCapture, "cuStreamEndCapture"},
      {(void **)&cu.graphInstantiate, "cuGraphInstantiateWithFlags"},
      {(void **)&cu.graphLaunch, "cuGraphLaunch"},
      {(void **)&cu.graphExecDestroy, "cuGraphExecDestroy"},
      {(void **)&cu.graphDestroy, "cuGraphDestroy"},
  };
  for (size_t i = 0; i < sizeof graphSymbols / sizeof graphSymbols[0]; ++i)
    *graphSymbols[i].slot = dlsym(library, graphSymbols[i].name);
  return KILN_CUDA_OK;
}

static int initLocked(int ordinal) {
  int status = loadDriver();
  if (status)
    return status;
  CUresult result = cu.init(0);
  if (result != 0) {
    const char *name, *text;
    describe(result, &name, &text);
    return fail(KILN_CUDA_NO_DEVICE, "no CUDA device: cuInit failed: %s (%s)",
                name, text);
  }
  int count = 0;
  CHECK(cu.deviceGetCount(&count), "cuDeviceGetCount");
  if (ordinal < 0 || ordinal >= count)
    return fail(KILN_CUDA_NO_DEVICE,
                "no CUDA device: device %d requested, %d present", ordinal,
                count);
  CUdevice device;
  CHECK(cu.deviceGet(&device, ordinal), "cuDeviceGet");
  CHECK(cu.deviceGetName(deviceName, sizeof deviceName, device),
        "cuDeviceGetName");
  CHECK(cu.primaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
  CHECK(cu.ctxSetCurrent(context), "cuCtxSetCurrent");
  CHECK(cu.streamCreate(&stream, kStreamNonBlocking), "cuStreamCreate");
  CHECK(cu.streamCreate(&copyStream, kStreamNonBlocking), "cuStreamCreate");
  return KILN_CUDA_OK;
}

int kiln_cuda_init(int ordinal) {
  pthread_mutex_lock(&lock);
  if (initStatus < 0)
    initStatus = initLocked(ordinal);
  else if (initStatus == KILN_CUDA_OK)
    cu.ctxSetCurrent(context); /* the calling thread may be new */
  int status = initStatus;
  pthread_mutex_unlock(&lock);
  return status;
}

const char *kiln_cuda_last_error(void) { return lastError; }
void kiln_cuda_reset_error(void) {
  if (initStatus == KILN_CUDA_OK) {
    stickyError = 0;
    lastError[0] = '\0';
  }
}
const char *kiln_cuda_device_name(void) { return deviceName; }

static int ready(const char *what) {
  if (initStatus != KILN_CUDA_OK)
    return fail(KILN_CUDA_NO_DEVICE,
                "%s: the CUDA runtime is not initialized "
                "(kiln_cuda_init failed or was not called)",
                what);
  return stickyError;
}

int kiln_cuda_malloc(kiln_cuda_ptr *out, size_t bytes) {
  int status = ready("kiln_cuda_malloc");
  if (status)
    return status;
  CHECK(cu.memAlloc(out, bytes ? bytes : 1), "cuMemAlloc");
  return KILN_CUDA_OK;
}

int kiln_cuda_free(kiln_cuda_ptr ptr) {
  if (initStatus != KILN_CUDA_OK || !ptr)
    return KILN_CUDA_OK;
  CHECK(cu.memFree(ptr), "cuMemFree");
  return KILN_CUDA_OK;
}

int kiln_cuda_malloc_host(void **out, size_t bytes) {
  int status = ready("kiln_cuda_malloc_host");
  if (status)
    return status;
  CHECK(cu.memAllocHost(out, bytes ? bytes : 1), "cuMemAllocHost");
  return KILN_CUDA_OK;
}

int kiln_cuda_free_host(void *ptr) {
  if (initStatus != KILN_CUDA_OK || !ptr)
    return KILN_CUDA_OK;
  CHECK(cu.memFreeHost(ptr), "cuMemFreeHost");
  return KILN_CUDA_OK;
}

int kiln_cuda_copy_to_device(kiln_cuda_ptr dst, const void *src, size_t bytes) {
  int status = ready("kiln_cuda_copy_to_device");
  if (status)
    return status;
  CHECK(cu.memcpyHtoDAsync(dst, src, bytes, stream), "cuMemcpyHtoDAsync");
  return KILN_CUDA_OK;
}

int kiln_cuda_copy_to_host(void *dst, kiln_cuda_ptr src, size_t bytes) {
  int status = ready("kiln_cuda_copy_to_host");
  if (status)
    return status;
  CHECK(cu.memcpyDtoHAsync(dst, src, bytes, stream), "cuMemcpyDtoHAsync");
  return KILN_CUDA_OK;
}

int kiln_cuda_copy_on_device(kiln_cuda_ptr dst, kiln_cuda_ptr src,
                             size_t bytes) {
  int status = ready("kiln_cuda_copy_on_device");
  if (status)
    return status;
  CHECK(cu.memcpyDtoDAsync(dst, src, bytes, stream), "cuMemcpyDtoDAsync");
  return KILN_CUDA_OK;
}

int kiln_cuda_memset(kiln_cuda_ptr dst, uint8_t value, size_t bytes) {
  int status = ready("kiln_cuda_memset");
  if (status)
    return status;
  CHECK(cu.memsetD8Async(dst, value, bytes, stream), "cuMemsetD8Async");
  return KILN_CUDA_OK;
}

int kiln_cuda_synchronize(void) {
  int status = ready("kiln_cuda_synchronize");
  if (status)
    return status;
  CHECK(cu.streamSynchronize(copyStream), "cuStreamSynchronize");
  CHECK(cu.streamSynchronize(stream), "cuStreamSynchronize");
  return KILN_CUDA_OK;
}

int kiln_cuda_event_create(kiln_cuda_event *out) {
  int status = ready("kiln_cuda_event_create");
  if (status)
    return status;
  /* CU_EVENT_DISABLE_TIMING: the cheapest kind, for ordering only. */
  CHECK(cu.eventCreate((CUevent *)out, 2), "cuEventCreate");
  return KILN_CUDA_OK;
}

int kiln_cuda_event_record(kiln_cuda_event event) {
  int status = ready("kiln_cuda_event_record");
  if (status)
    return status;
  CHECK(cu.eventRecord((CUevent)event, stream), "cuEventRecord");
  return KILN_CUDA_OK;
}

int kiln_cuda_event_wait(kiln_cuda_event event) {
  int status = ready("kiln_cuda_event_wait");
  if (status)
    return status;
  CHECK(cu.eventSynchronize((CUevent)event), "cuEventSynchronize");
  return KILN_CUDA_OK;
}

int kiln_cuda_copy_to_device_beside(kiln_cuda_ptr dst, const void *src,
                                    size_t bytes, kiln_cuda_event after,
                                    kiln_cuda_event done) {
  int status = ready("kiln_cuda_copy_to_device_beside");
  if (status)
    return status;
  if (!done)
    return fail(KILN_CUDA_FAILED,
                "kiln_cuda_copy_to_device_beside: no event to record");
  if (after)
    CHECK(cu.streamWaitEvent(copyStream, (CUevent)after, 0),
          "cuStreamWaitEvent");
  CHECK(cu.memcpyHtoDAsync(dst, src, bytes, copyStream), "cuMemcpyHtoDAsync");
  CHECK(cu.eventRecord((CUevent)done, copyStream), "cuEventRecord");
  return KILN_CUDA_OK;
}

int kiln_cuda_stream_wait(kiln_cuda_event event) {
  int status = ready("kiln_cuda_stream_wait");
  if (status)
    return status;
  CHECK(cu.streamWaitEvent(stream, (CUevent)event, 0), "cuStreamWaitEvent");
  return KILN_CUDA_OK;
}

int kiln_cuda_event_destroy(kiln_cuda_event event) {
  if (initStatus != KILN_CUDA_OK || !event)
    return KILN_CUDA_OK;
  CHECK(cu.eventDestroy((CUevent)event), "cuEventDestroy");
  return KILN_CUDA_OK;
}

/* Pointer-keyed caches: generated code passes the addresses of its own
 * constants, so an address identifies an image or a kernel name. */
enum { kMaxModules = 64, kFunctionSlots = 4096 };
static struct {
  const char *ptx;
  CUmodule module;
} modules[kMaxModules];
static int moduleCount;
static struct {
  const char *name;
  CUfunction function;
} functions[kFunctionSlots];

static int loadModule(const char *ptx, CUmodule *out) {
  for (int i = 0; i < moduleCount; ++i)
    if (modules[i].ptx == ptx) {
      *out = modules[i].module;
      return KILN_CUDA_OK;
    }
  if (moduleCount == kMaxModules)
    return fail(KILN_CUDA_FAILED, "more than %d PTX images", kMaxModules);
  char log[4096] = "";
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *values[] = {log, (void *)(uintptr_t)sizeof log};
  CUresult result = cu.moduleLoadDataEx(out, ptx, 2, options, values);
  if (result != 0) {
    failDriver(result, "cuModuleLoadData");
    size_t used = strlen(lastError);
    snprintf(lastError + used, sizeof lastError - used, "; JIT log: %s", log);
    return KILN_CUDA_FAILED;
  }
  modules[moduleCount].ptx = ptx;
  modules[moduleCount++].module = *out;
  return KILN_CUDA_OK;
}

static int lookupFunction(const char *ptx, const char *kernel,
                          CUfunction *out) {
  size_t slot = ((uintptr_t)kernel >> 3) % kFunctionSlots;
  for (size_t probe = 0; probe < kFunctionSlots; ++probe) {
    size_t i = (slot + probe) % kFunctionSlots;
    if (functions[i].name == kernel) {
      *out = functions[i].function;
      return KILN_CUDA_OK;
    }
    if (!functions[i].name) {
      CUmodule module;
      int status = loadModule(ptx, &module);
      if (status)
        return status;
      CHECK(cu.moduleGetFunction(out, module, kernel), "cuModuleGetFunction");
      functions[i].name = kernel;
      functions[i].function = *out;
      return KILN_CUDA_OK;
    }
  }
  return fail(KILN_CUDA_FAILED, "more than %d kernels", kFunctionSlots);
}

int32_t kiln_cuda_launch(const char *ptx, const char *kernel, uint32_t grid,
                         uint32_t block, const uint64_t *params,
                         int32_t num_params) {
  int status = ready("kiln_cuda_launch");
  if (status)
    return status;
  CUfunction function;
  status = lookupFunction(ptx, kernel, &function);
  if (status)
    return status;
  enum { kMaxParams = 256 };
  void *pointers[kMaxParams];
  if (num_params > kMaxParams)
    return fail(KILN_CUDA_FAILED, "kernel %s has %d parameters (max %d)",
                kernel, num_params, kMaxParams);
  for (int32_t i = 0; i < num_params; ++i)
    pointers[i] = (void *)&params[i];
  CHECK(cu.launchKernel(function, grid, 1, 1, block, 1, 1, 0, stream, pointers,
                        NULL),
        "cuLaunchKernel");
  return KILN_CUDA_OK;
}

/* Graphs: what kiln's stream does between begin and end is recorded, not
 * run; a launch of the instantiated graph replays it with one call. */
static int graphsReady(const char *what) {
  int status = ready(what);
  if (status)
    return status;
  if (!cu.streamBeginCapture || !cu.streamEndCapture || !cu.graphInstantiate ||
      !cu.graphLaunch || !cu.graphExecDestroy || !cu.graphDestroy)
    return fail(KILN_CUDA_FAILED,
                "%s: this CUDA driver has no graphs (cuGraphInstantiateWithFlags "
                "and cuStreamBeginCapture_v2 need driver 11.4 or later)",
                what);
  return KILN_CUDA_OK;
}

int kiln_cuda_capture_begin(void) {
  int status = graphsReady("kiln_cuda_capture_begin");
  if (status)
    return status;
  CHECK(cu.streamBeginCapture(stream, kCaptureModeRelaxed),
        "cuStreamBeginCapture");
  return KILN_CUDA_OK;
}

int kiln_cuda_capture_end(kiln_cuda_graph *out) {
  *out = NULL;
  /* Ends the capture even after an error in between, so that the stream
   * is usable again; the error is the one reported. */
  if (initStatus != KILN_CUDA_OK)
    return ready("kiln_cuda_capture_end");
  int status = graphsReady("kiln_cuda_capture_end");
  CUgraph graph = NULL;
  CUresult ended = cu.streamEndCapture ? cu.streamEndCapture(stream, &graph)
                                       : 0;
  if (status) {
    if (graph)
      cu.graphDestroy(graph);
    return status;
  }
  if (ended != 0)
    return failDriver(ended, "cuStreamEndCapture");
  CUgraphExec exec = NULL;
  CUresult made = cu.graphInstantiate(&exec, graph, 0);
  cu.graphDestroy(graph);
  if (made != 0)
    return failDriver(made, "cuGraphInstantiateWithFlags");
  *out = (kiln_cuda_graph)exec;
  return KILN_CUDA_OK;
}

int kiln_cuda_graph_launch(kiln_cuda_graph graph) {
  int status = graphsReady("kiln_cuda_graph_launch");
  if (status)
    return status;
  CHECK(cu.graphLaunch((CUgraphExec)graph, stream), "cuGraphLaunch");
  return KILN_CUDA_OK;
}

int kiln_cuda_graph_destroy(kiln_cuda_graph graph) {
  if (initStatus != KILN_CUDA_OK || !graph || !cu.graphExecDestroy)
    return KILN_CUDA_OK;
  CHECK(cu.graphExecDestroy((CUgraphExec)graph), "cuGraphExecDestroy");
  return KILN_CUDA_OK;
}
