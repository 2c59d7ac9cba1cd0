// A model source that does not compile (kilnc-model-source.test): kilnc
// must show the compiler's error for line 11 and fail.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

KILN_PROGRAM(broken) {
  ClassifierOptions options;
  options.batch_size = 4;
  options.input_shape = {2};
  options.num_classes = no_such_variable;
  return Program();
}
