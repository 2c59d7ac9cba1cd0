//===- checkpoint_metadata.cpp - checks of the kiln.* metadata ------------===//
//
// Implements validateKilnMetadata (checkpoint.h). The trainer reads these
// entries back on --resume, so a damaged or forged value must be an error
// naming the file and the key, not a wrapped integer: "kiln.epoch":
// "2147483647" used to make the trainer continue at epoch -2147483648.
// Values must be exactly what the trainer writes: canonical decimal integers
// (no sign, space, leading zero or trailing text), finite positive rates, and
// schedules parseLrSchedule accepts.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint.h"
#include "kiln/runtime/lr_schedule.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace kiln::runtime {

namespace {

/// A canonical decimal integer in [0, max].
bool parseCount(std::string_view text, uint64_t max, uint64_t &value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0') ||
      text.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= max;
}

/// A finite decimal number > 0 with nothing after it.
bool parseRate(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size() &&
         std::isfinite(value) && value > 0;
}

} // namespace

bool validateKilnMetadata(const std::string &path, const std::map<std::string, std::string> &meta,
                          std::string &error) {
  auto bad = [&](const std::string &key, const std::string &what) {
    error = path + ": metadata \"" + key + "\" is \"" + meta.at(key) + "\", not " + what;
    return false;
  };
  uint64_t count = 0;
  if (auto it = meta.find("kiln.epoch");
      it != meta.end() && !parseCount(it->second, kMaxCheckpointEpoch, count))
    return bad(it->first,
               "an epoch count from 0 to " + std::to_string(kMaxCheckpointEpoch));
  if (auto it = meta.find("kiln.seed");
      it != meta.end() && !parseCount(it->second, UINT64_MAX, count))
    return bad(it->first, "a seed from 0 to " + std::to_string(UINT64_MAX));
  if (auto it = meta.find("kiln.lr"); it != meta.end() && !parseRate(it->second))
    return bad(it->first, "a finite learning rate > 0");
  if (auto it = meta.find("kiln.lr_schedule"); it != meta.end()) {
    std::string why;
    if (!parseLrSchedule(it->second, 1.0, why))
      return bad(it->first, "a learning-rate schedule (" + why + ")");
  }
  return true;
}

} // namespace kiln::runtime
