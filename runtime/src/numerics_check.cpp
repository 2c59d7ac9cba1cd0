// numerics_check.cpp - reads the checked-mode slot of a compiled model.

#include "numerics_check.h"

#include <cstring>

namespace kiln::runtime {

namespace {
constexpr const char *kSlotName = "kiln.numerics.first_nonfinite";
}

NumericsCheck::NumericsCheck(const kiln_model_info *model,
                             const char *environment)
    : model_(model) {
  bool off = environment && std::strcmp(environment, "0") == 0;
  bool requested = environment && std::strcmp(environment, "1") == 0;
  if (off)
    return;
  if (model->num_numerics_sites > 0 && model->numerics_sites)
    for (int32_t i = 0; i < model->num_state; ++i) {
      const kiln_state_entry &e = model->state[i];
      if (e.name && std::strcmp(e.name, kSlotName) == 0 &&
          e.dtype == KILN_I32) {
        slotOffset_ = static_cast<int64_t>(e.offset);
        break;
      }
    }
  requestedButMissing_ = requested && slotOffset_ < 0;
}

std::string NumericsCheck::firstNonFinite(const void *arena) const {
  if (slotOffset_ < 0)
    return "";
  int32_t id = 0;
  std::memcpy(&id, static_cast<const char *>(arena) + slotOffset_, sizeof id);
  if (id == 0)
    return "";
  if (id < 0 || id > model_->num_numerics_sites)
    return "check site " + std::to_string(id) + " (not in the model's table of " +
           std::to_string(model_->num_numerics_sites) + ")";
  return model_->numerics_sites[id - 1];
}

} // namespace kiln::runtime
