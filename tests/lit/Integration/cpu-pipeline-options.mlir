// The CPU pipelines' typed options, as kiln-opt spells them: the vector
// width reaches the vectorizer, `parallel` gives OpenMP loops, and an
// unknown option is an error naming it.
// RUN: kiln-opt %s -kiln-lower-to-llvm='vector-width=8 parallel=1' | FileCheck %s --check-prefix=WIDE
// RUN: kiln-opt %s -kiln-lower-to-llvm='vector-width=1' | FileCheck %s --check-prefix=SCALAR
// RUN: not kiln-opt %s -kiln-lower-to-llvm='vector-widht=8' 2>&1 | FileCheck %s --check-prefix=TYPO

#map = affine_map<(d0, d1) -> (d0, d1)>

// WIDE-LABEL: llvm.func @relu
// WIDE: omp.parallel
// WIDE: vector<8xf32>
// SCALAR-LABEL: llvm.func @relu
// SCALAR-NOT: omp.
// SCALAR-NOT: vector<
// SCALAR: llvm.return
// TYPO: no such option vector-widht
func.func @relu(%a: memref<512x512xf32>, %o: memref<512x512xf32>) {
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<512x512xf32>) outs(%o : memref<512x512xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maxf %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}
