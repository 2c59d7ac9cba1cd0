//===- prefetcher.h - Background batch assembly for DataLoader --*- C++ -*-===//
//
// Private to the runtime. A Prefetcher owns one worker thread and one spare
// Batch. While the consumer holds batch n (in its own Batch), the worker
// assembles batch n+1 into the spare; next() swaps the two, so the two
// buffers alternate and, once both are sized, nothing is allocated. Batches
// are assembled strictly in order by the same function the synchronous path
// uses, so the output is identical.
//
// Thread safety: start/stop/next are called from the consumer thread only;
// the worker touches `ready` and `scratch` only while it owns them (not
// `full`), and the assemble function only between start() and stop().
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_PREFETCHER_H
#define KILN_RUNTIME_SRC_PREFETCHER_H

#include "kiln/runtime/dataloader.h"

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace kiln::runtime {

class Prefetcher {
public:
  /// \p assemble fills a Batch with batch k of the current epoch.
  using AssembleFn = std::function<void(int64_t k, Batch &b, std::vector<float> &scratch)>;

  explicit Prefetcher(AssembleFn assemble);
  /// Stops the worker (waiting for a batch in progress) and joins it.
  ~Prefetcher();

  /// Waits until the worker is idle and discards any prepared batch; after
  /// this the caller may change what assemble reads.
  void stop();
  /// Begins an epoch of \p numBatches batches; the worker starts at batch 0.
  void start(int64_t numBatches);
  /// Swaps the next batch into \p b; false at the end of the epoch. Rethrows
  /// an exception raised by assemble.
  bool next(Batch &b);

private:
  void run();

  AssembleFn assemble;
  std::mutex mutex;
  std::condition_variable workerWake; ///< Signals the worker.
  std::condition_variable batchReady; ///< Signals the consumer.
  Batch ready;
  std::vector<float> scratch;
  std::exception_ptr failure;
  int64_t total = 0;     ///< Batches in the current epoch.
  int64_t produced = 0;  ///< Batches assembled (or failed) this epoch.
  int64_t consumed = 0;  ///< Batches handed to the consumer this epoch.
  bool active = false;   ///< Between start() and stop().
  bool busy = false;     ///< The worker is inside assemble.
  bool full = false;     ///< `ready` holds an unconsumed batch.
  bool shutdown = false;
  std::thread worker; ///< Last: starts after the state above is initialized.
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_PREFETCHER_H
