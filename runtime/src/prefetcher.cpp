//===- prefetcher.cpp - Background batch assembly for DataLoader ----------===//
//
// A one-slot producer/consumer queue guarded by one mutex. The worker sleeps
// until the slot is empty and the epoch has batches left, assembles outside
// the lock, then publishes. stop() clears `active` and waits for `busy` to
// drop, so a batch assembled for an abandoned epoch is never published.
//
//===----------------------------------------------------------------------===//

#include "prefetcher.h"

#include <utility>

namespace kiln::runtime {

Prefetcher::Prefetcher(AssembleFn assemble)
    : assemble(std::move(assemble)), worker([this] { run(); }) {}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    shutdown = true;
    active = false;
  }
  workerWake.notify_all();
  worker.join();
}

void Prefetcher::run() {
  std::unique_lock<std::mutex> lock(mutex);
  for (;;) {
    workerWake.wait(lock, [&] { return shutdown || (active && !full && produced < total); });
    if (shutdown)
      return;
    const int64_t k = produced;
    busy = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      assemble(k, ready, scratch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    busy = false;
    if (active) {
      // A failure takes the batch's place, so the consumer sees it in order.
      ++produced;
      full = true;
      failure = error;
    }
    batchReady.notify_all();
  }
}

void Prefetcher::stop() {
  std::unique_lock<std::mutex> lock(mutex);
  active = false;
  batchReady.wait(lock, [&] { return !busy; });
  full = false;
  failure = nullptr;
}

void Prefetcher::start(int64_t numBatches) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    total = numBatches;
    produced = consumed = 0;
    full = false;
    failure = nullptr;
    active = true;
  }
  workerWake.notify_one();
}

bool Prefetcher::next(Batch &b) {
  std::unique_lock<std::mutex> lock(mutex);
  if (!active || consumed >= total)
    return false;
  batchReady.wait(lock, [&] { return full; });
  ++consumed;
  full = false;
  if (failure) {
    // The epoch cannot continue past a batch that failed to assemble.
    std::exception_ptr error = std::exchange(failure, nullptr);
    active = false;
    std::rethrow_exception(error);
  }
  std::swap(b, ready);
  lock.unlock();
  workerWake.notify_one();
  return true;
}

} // namespace kiln::runtime
