// lenet's trainer over the copy of the model compiled with --no-parallel
// (kiln_add_trainer would name the model lenet_serial; its functions keep
// the traced name, lenet).
#include "lenet_serial.h"
#include "kiln/runtime/trainer.h"

int main(int argc, char **argv) {
  return kiln_train_main(lenet_model_info(), argc, argv);
}
