//===- cuda_trainer.cpp - The trainer's steps on an NVIDIA GPU ------------===//
//
// One device arena, allocated once, holds the model state and scratch. Each
// step's batch is gathered by the trainer, copied by the host into one of two
// pinned staging slots and sent to the device on kiln's copy stream, beside
// the kernel stream: gathering batch n+1 and its copy to the device overlap
// the device running step n. Events order the rest: the host refills a
// slot's pinned memory once its last copy has run (`copied`), a copy into a
// slot's device buffer waits for the last kernels that read it (`consumed`),
// and a step's kernels wait for their batch's copy.
// Each step writes its loss to its own slot of a device ring, read back in
// one copy when the trainer asks (every --log-every steps, at the end of an
// epoch, before a checkpoint, or when the ring is full).
//
// With --cuda-graph, the launches of a step are recorded once per staging
// slot (after a first plain step has loaded the kernels) and replayed with
// one call: a graph replays fixed pointers, so the step writes its loss to
// one device scalar, which a copy then appends to the ring.
//
//===----------------------------------------------------------------------===//

#include "cuda_runner.h"

#include "kiln/runtime/cuda.h"

#include <cstdio>
#include <cstring>

namespace kiln::runtime {
namespace {

void *device(kiln_cuda_ptr ptr) { return reinterpret_cast<void *>(ptr); }

class CudaRunner final : public ModelRunner {
public:
  CudaRunner(const kiln_model_info *cpu, const kiln_cuda_model *gpu, void *hostArena,
             bool graphs)
      : cpu(cpu), gpu(gpu), hostArena(hostArena), graphs(graphs) {}
  ~CudaRunner() override;

  /// Allocates the device and pinned buffers; false with \p error if not.
  bool allocate(std::string &error);
  bool upload(std::string &error) override;
  bool download(std::string &error) override;
  bool step(const float *x, const void *targets, float lr, std::string &error) override;
  bool lossesDue() const override { return pendingLosses == kLossRing; }
  bool takeLosses(std::vector<float> &losses, std::string &error) override;
  bool predict(const float *x, float *logits, std::string &error) override;

private:
  static constexpr int kSlots = 2;
  static constexpr int64_t kLossRing = 256;

  struct Slot {
    void *pinned = nullptr;       // x, targets at yOffset, lr at lrOffset
    kiln_cuda_ptr device = 0;     // the same layout
    kiln_cuda_event copied = nullptr;   // the copy stream has sent it
    kiln_cuda_event consumed = nullptr; // the kernels have read it
    bool inFlight = false;              // both events were recorded
    kiln_cuda_graph trainStep = nullptr; // --cuda-graph: this slot's step
  };

  bool check(int status, std::string &error) const;
  /// Copies x (and the targets and lr of a step) through the next slot;
  /// the kernels enqueued next wait for the copy.
  Slot *stage(const float *x, const void *targets, float lr, std::string &error);
  /// After the kernels reading `slot` are enqueued.
  bool release(Slot &slot, std::string &error);
  void launchTrainStep(const Slot &slot, kiln_cuda_ptr loss);
  /// Replays the slot's graph, recording it first if need be.
  bool replayTrainStep(Slot &slot, kiln_cuda_ptr loss, std::string &error);

  const kiln_model_info *cpu;
  const kiln_cuda_model *gpu;
  void *hostArena;
  size_t xBytes = 0, yBytes = 0, logitsBytes = 0;
  // Each input starts 256-byte aligned, as a cuMemAlloc'd buffer would.
  size_t yOffset = 0, lrOffset = 0;
  const bool graphs;
  bool kernelsLoaded = false; // a plain step ran: modules are loaded
  kiln_cuda_ptr arena = 0, lossRing = 0, logits = 0, graphLoss = 0;
  float *pinnedLosses = nullptr, *pinnedLogits = nullptr;
  Slot slots[kSlots];
  int64_t issued = 0, pendingLosses = 0;
};

CudaRunner::~CudaRunner() {
  // Nothing may be freed while a copy or kernel still uses it; after an
  // error the runtime's calls return at once.
  kiln_cuda_synchronize();
  for (Slot &slot : slots) {
    kiln_cuda_graph_destroy(slot.trainStep);
    kiln_cuda_event_destroy(slot.copied);
    kiln_cuda_event_destroy(slot.consumed);
    kiln_cuda_free_host(slot.pinned);
    kiln_cuda_free(slot.device);
  }
  kiln_cuda_free_host(pinnedLosses);
  kiln_cuda_free_host(pinnedLogits);
  kiln_cuda_free(arena);
  kiln_cuda_free(lossRing);
  kiln_cuda_free(logits);
  kiln_cuda_free(graphLoss);
}

bool CudaRunner::check(int status, std::string &error) const {
  if (status == KILN_CUDA_OK)
    return true;
  error = std::string("cuda: ") + kiln_cuda_last_error();
  return false;
}

bool CudaRunner::allocate(std::string &error) {
  xBytes = static_cast<size_t>(cpu->batch_size) * cpu->input_elements * sizeof(float);
  yBytes = static_cast<size_t>(cpu->batch_size) *
           (cpu->task == KILN_TASK_CLASSIFICATION ? sizeof(int32_t)
                                                  : cpu->num_classes * sizeof(float));
  logitsBytes = static_cast<size_t>(cpu->batch_size) * cpu->num_classes * sizeof(float);
  auto aligned = [](size_t bytes) { return (bytes + 255) / 256 * 256; };
  yOffset = aligned(xBytes);
  lrOffset = aligned(yOffset + yBytes);
  const size_t slotBytes = lrOffset + sizeof(float);
  if (!check(kiln_cuda_malloc(&arena, cpu->arena_bytes), error) ||
      !check(kiln_cuda_malloc(&lossRing, kLossRing * sizeof(float)), error) ||
      !check(kiln_cuda_malloc(&logits, logitsBytes), error) ||
      (graphs && !check(kiln_cuda_malloc(&graphLoss, sizeof(float)), error)) ||
      !check(kiln_cuda_malloc_host(reinterpret_cast<void **>(&pinnedLosses),
                                   kLossRing * sizeof(float)),
             error) ||
      !check(kiln_cuda_malloc_host(reinterpret_cast<void **>(&pinnedLogits), logitsBytes), error))
    return false;
  for (Slot &slot : slots)
    if (!check(kiln_cuda_malloc_host(&slot.pinned, slotBytes), error) ||
        !check(kiln_cuda_malloc(&slot.device, slotBytes), error) ||
        !check(kiln_cuda_event_create(&slot.copied), error) ||
        !check(kiln_cuda_event_create(&slot.consumed), error))
      return false;
  return true;
}

bool CudaRunner::upload(std::string &error) {
  return check(kiln_cuda_copy_to_device(arena, hostArena, cpu->arena_bytes), error) &&
         check(kiln_cuda_synchronize(), error);
}

bool CudaRunner::download(std::string &error) {
  return check(kiln_cuda_copy_to_host(hostArena, arena, cpu->arena_bytes), error) &&
         check(kiln_cuda_synchronize(), error);
}

CudaRunner::Slot *CudaRunner::stage(const float *x, const void *targets, float lr,
                                    std::string &error) {
  Slot &slot = slots[issued++ % kSlots];
  if (slot.inFlight && !check(kiln_cuda_event_wait(slot.copied), error))
    return nullptr;
  auto *bytes = static_cast<char *>(slot.pinned);
  std::memcpy(bytes, x, xBytes);
  size_t size = xBytes;
  if (targets) {
    std::memcpy(bytes + yOffset, targets, yBytes);
    std::memcpy(bytes + lrOffset, &lr, sizeof lr);
    size = lrOffset + sizeof lr;
  }
  if (!check(kiln_cuda_copy_to_device_beside(slot.device, slot.pinned, size,
                                             slot.inFlight ? slot.consumed : nullptr,
                                             slot.copied),
             error) ||
      !check(kiln_cuda_stream_wait(slot.copied), error))
    return nullptr;
  return &slot;
}

bool CudaRunner::release(Slot &slot, std::string &error) {
  if (!check(kiln_cuda_event_record(slot.consumed), error))
    return false;
  slot.inFlight = true;
  return true;
}

void CudaRunner::launchTrainStep(const Slot &slot, kiln_cuda_ptr loss) {
  gpu->train_step(device(arena), static_cast<const float *>(device(slot.device)),
                  device(slot.device + yOffset),
                  static_cast<const float *>(device(slot.device + lrOffset)),
                  static_cast<float *>(device(loss)));
}

bool CudaRunner::replayTrainStep(Slot &slot, kiln_cuda_ptr loss, std::string &error) {
  if (!slot.trainStep) {
    if (!check(kiln_cuda_capture_begin(), error))
      return false;
    launchTrainStep(slot, graphLoss);
    if (!check(kiln_cuda_capture_end(&slot.trainStep), error))
      return false;
  }
  return check(kiln_cuda_graph_launch(slot.trainStep), error) &&
         check(kiln_cuda_copy_on_device(loss, graphLoss, sizeof(float)), error);
}

bool CudaRunner::step(const float *x, const void *targets, float lr, std::string &error) {
  if (pendingLosses == kLossRing) {
    error = "cuda: " + std::to_string(kLossRing) + " losses are unread (internal error)";
    return false;
  }
  Slot *slot = stage(x, targets, lr, error);
  if (!slot)
    return false;
  const kiln_cuda_ptr loss = lossRing + pendingLosses * sizeof(float);
  if (graphs && kernelsLoaded) {
    if (!replayTrainStep(*slot, loss, error))
      return false;
  } else {
    launchTrainStep(*slot, loss);
    kernelsLoaded = true;
  }
  if (!release(*slot, error))
    return false;
  ++pendingLosses;
  // A failed launch is sticky; report it at the step that caused it.
  if (*kiln_cuda_last_error())
    return check(KILN_CUDA_FAILED, error);
  return true;
}

bool CudaRunner::takeLosses(std::vector<float> &losses, std::string &error) {
  if (pendingLosses == 0)
    return true;
  if (!check(kiln_cuda_copy_to_host(pinnedLosses, lossRing, pendingLosses * sizeof(float)),
             error) ||
      !check(kiln_cuda_synchronize(), error))
    return false;
  losses.insert(losses.end(), pinnedLosses, pinnedLosses + pendingLosses);
  pendingLosses = 0;
  return true;
}

bool CudaRunner::predict(const float *x, float *out, std::string &error) {
  Slot *slot = stage(x, nullptr, 0, error);
  if (!slot)
    return false;
  gpu->predict(device(arena), static_cast<const float *>(device(slot->device)),
               static_cast<float *>(device(logits)));
  if (!release(*slot, error) || !check(kiln_cuda_copy_to_host(pinnedLogits, logits, logitsBytes), error) ||
      !check(kiln_cuda_synchronize(), error))
    return false;
  std::memcpy(out, pinnedLogits, logitsBytes);
  return true;
}

} // namespace

bool openCudaDevice(const kiln_model_info *cpu, const kiln_cuda_model *gpu,
                    std::string &error) {
  const std::string name = cpu->name ? cpu->name : "<unnamed>";
  if (!gpu || !gpu->train_step || !gpu->predict) {
    error = "model " + name + ": this trainer was not built for CUDA";
    return false;
  }
  if (gpu->device_arena_bytes != cpu->arena_bytes) {
    error = "model " + name + ": the GPU build's arena (" +
            std::to_string(gpu->device_arena_bytes) + " bytes) differs from the CPU build's (" +
            std::to_string(cpu->arena_bytes) + "): the two objects come from different sources";
    return false;
  }
  if (cpu->num_numerics_sites > 0) {
    error = "model " + name + " was built with --check-numerics, which --device cuda does "
            "not support; train it with --device cpu";
    return false;
  }
  if (kiln_cuda_init(0) == KILN_CUDA_OK)
    return true;
  error = std::string("--device cuda: ") + kiln_cuda_last_error();
  return false;
}

std::unique_ptr<ModelRunner> makeCudaRunner(const kiln_model_info *cpu,
                                            const kiln_cuda_model *gpu, void *hostArena,
                                            bool graphs, std::string &error) {
  if (!openCudaDevice(cpu, gpu, error))
    return nullptr;
  auto runner = std::make_unique<CudaRunner>(cpu, gpu, hostArena, graphs);
  if (!runner->allocate(error))
    return nullptr;
  std::printf("device: cuda:0 (%s), arena %llu bytes on the device%s\n",
              kiln_cuda_device_name(), static_cast<unsigned long long>(cpu->arena_bytes),
              graphs ? ", steps replayed as CUDA graphs" : "");
  return runner;
}

} // namespace kiln::runtime
