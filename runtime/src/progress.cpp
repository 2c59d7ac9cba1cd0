//===- progress.cpp - The trainer's progress output -----------------------===//
//
// Implements progress.h. The bar is erased by overwriting it with spaces
// after a carriage return rather than with an ANSI escape, so it also works
// on a terminal that knows no escapes (TERM=dumb, an Emacs shell).
//
//===----------------------------------------------------------------------===//

#include "progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <sys/ioctl.h>
#include <unistd.h>

namespace kiln::runtime {

namespace {

/// How often the bar is redrawn: often enough to look live, rarely enough
/// that a fast model's thousands of steps per second cost nothing.
constexpr std::chrono::milliseconds kRedrawInterval{100};
constexpr int kMaxBarWidth = 30;

} // namespace

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 3600)
    return fmt::format("{}:{:02}", total / 60, total % 60);
  return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
}

std::string formatProgressBar(int epoch, int64_t epochs, int64_t step, int64_t steps,
                              double loss, double etaSeconds, int barWidth) {
  std::string bar;
  if (barWidth >= 5 && steps > 0) {
    const auto filled = static_cast<int>(std::min(step, steps) * barWidth / steps);
    bar = fmt::format("[{}{}] ", std::string(filled, '#'), std::string(barWidth - filled, '.'));
  }
  return fmt::format("epoch {}/{} {}{}/{} loss {:.4f} ETA {}", epoch, epochs, bar, step, steps,
                     loss, formatDuration(etaSeconds));
}

ProgressDisplay::ProgressDisplay(std::FILE *out, bool showBar, int64_t epochs,
                                 int64_t stepsPerEpoch)
    : out_(out), showBar_(showBar), epochs_(epochs), steps_(stepsPerEpoch) {}

ProgressDisplay::~ProgressDisplay() { clear(); }

bool ProgressDisplay::isTerminal(std::FILE *f) { return ::isatty(::fileno(f)) == 1; }

void ProgressDisplay::startEpoch(int epoch, int64_t firstStep, Clock::time_point now) {
  epoch_ = epoch;
  firstStep_ = firstStep;
  epochStart_ = now;
  drawNext_ = true;
}

void ProgressDisplay::step(int64_t step, double meanLoss, Clock::time_point now) {
  if (!showBar_ || (!drawNext_ && now - lastDraw_ < kRedrawInterval && step < steps_))
    return;
  drawNext_ = false;
  lastDraw_ = now;
  // The steps this process ran in the epoch set the pace; a resumed epoch's
  // earlier steps took no time here.
  const double elapsed = std::chrono::duration<double>(now - epochStart_).count();
  const double eta = elapsed / static_cast<double>(step - firstStep_ + 1) *
                     static_cast<double>(steps_ - step);
  // The text beside the bar is at most ~50 characters; a bar that would wrap
  // the line narrows, then goes.
  const std::string withoutBar = formatProgressBar(epoch_, epochs_, step, steps_, meanLoss, eta, 0);
  const int room = terminalColumns() - static_cast<int>(withoutBar.size()) - 4;
  const std::string text = formatProgressBar(epoch_, epochs_, step, steps_, meanLoss, eta,
                                             std::min(room, kMaxBarWidth));
  // Spaces cover what a longer previous bar left on the line.
  const size_t pad = barLength_ > text.size() ? barLength_ - text.size() : 0;
  fmt::print(out_, "\r{}{}", text, std::string(pad, ' '));
  std::fflush(out_);
  barLength_ = text.size() + pad;
}

void ProgressDisplay::logStep(int epoch, int64_t step, double meanLoss,
                              double samplesPerSecond) {
  line(fmt::format("epoch {}/{} step {}/{} loss {:.4f} samples/s {:.0f}", epoch, epochs_, step,
                   steps_, meanLoss, samplesPerSecond));
}

void ProgressDisplay::line(std::string_view text) {
  clear();
  fmt::print(out_, "{}\n", text);
  std::fflush(out_);
}

void ProgressDisplay::clear() {
  // The bar comes back at the next step, below whatever is printed now.
  drawNext_ = true;
  if (barLength_ == 0)
    return;
  fmt::print(out_, "\r{}\r", std::string(barLength_, ' '));
  std::fflush(out_);
  barLength_ = 0;
}

int ProgressDisplay::terminalColumns() const {
  struct winsize size {};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 80;
}

} // namespace kiln::runtime
