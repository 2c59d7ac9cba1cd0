//===- kiln-opt.cpp - run kiln and MLIR passes on IR text -----------------===//
//
// The lit tests' driver: parses IR, runs the requested passes or pipeline
// and prints the result, exactly like mlir-opt but with kiln registered.
//
//===----------------------------------------------------------------------===//

#include "kiln/InitAll.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  kiln::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kiln optimizer driver\n", registry));
}
