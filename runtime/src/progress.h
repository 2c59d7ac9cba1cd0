//===- progress.h - The trainer's progress output (private) -----*- C++ -*-===//
//
// Every --log-every steps the trainer prints a plain line
//   epoch 1/5 step 100/468 loss 0.6012 samples/s 51234
// which scripts parse (tests/e2e/check_training.py), so it is the same on a
// terminal and in a pipe. On a terminal (stdout isatty) a bar with the
// epoch's ETA also sits below those lines and is redrawn in place, at most
// ten times a second:
//   epoch 1/5 [#########...........] 212/468 loss 0.6012 ETA 0:03
// It is erased before any other line is printed, so piped output, logs and
// what tests see never contain it. Private to the runtime: not installed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_PROGRESS_H
#define KILN_RUNTIME_SRC_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kiln::runtime {

/// "m:ss" for under an hour, else "h:mm:ss"; "?" for a negative or
/// non-finite estimate.
std::string formatDuration(double seconds);

/// The bar line for step \p step of \p steps of epoch \p epoch of \p epochs,
/// with the epoch's mean loss so far and the estimated seconds left in the
/// epoch. The bar is \p barWidth characters between brackets, left out when
/// \p barWidth < 5.
std::string formatProgressBar(int epoch, int64_t epochs, int64_t step, int64_t steps,
                              double loss, double etaSeconds, int barWidth);

class ProgressDisplay {
public:
  using Clock = std::chrono::steady_clock;

  /// Shows the bar only if \p showBar (the trainer passes isTerminal(stdout)).
  ProgressDisplay(std::FILE *out, bool showBar, int64_t epochs, int64_t stepsPerEpoch);
  ~ProgressDisplay();

  /// Whether \p f is a terminal that can redraw a line in place.
  static bool isTerminal(std::FILE *f);

  /// An epoch begins at step \p firstStep (1, or later when resuming inside
  /// the epoch) at time \p now.
  void startEpoch(int epoch, int64_t firstStep, Clock::time_point now);
  /// After step \p step, whose epoch's mean loss so far is \p meanLoss.
  void step(int64_t step, double meanLoss, Clock::time_point now);
  /// The --log-every line, averaged over the steps since the last one.
  void logStep(int epoch, int64_t step, double meanLoss, double samplesPerSecond);
  /// Prints \p text as a line of its own (erasing the bar first).
  void line(std::string_view text);
  /// Erases the bar, before output that does not go through line(): an
  /// error on stderr, a checkpoint message. The next step draws it again.
  void clear();

private:
  int terminalColumns() const;

  std::FILE *out_;
  bool showBar_;
  int64_t epochs_, steps_;
  int epoch_ = 0;
  int64_t firstStep_ = 1;
  Clock::time_point epochStart_, lastDraw_;
  bool drawNext_ = true; ///< Draw at the next step whatever the interval.
  size_t barLength_ = 0; ///< Characters of the bar now on screen; 0: none.
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_PROGRESS_H
