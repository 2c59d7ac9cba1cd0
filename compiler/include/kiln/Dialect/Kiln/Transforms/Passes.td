//===- Passes.td - kiln transformation passes --------------*- tablegen -*-===//

#ifndef KILN_TRANSFORMS_PASSES
#define KILN_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def KilnAutodiff : Pass<"kiln-autodiff", "mlir::func::FuncOp"> {
  let summary = "Expands kiln.vjp into symbolic reverse-mode backward ops";
  let description = [{
    For each `kiln.vjp %y, %seed wrt %x...`, walks the ops between the `wrt`
    values and `%y` in reverse order, asks each op for its vector-Jacobian
    product (DifferentiableOpInterface), accumulates cotangents by addition
    and replaces the vjp results with the accumulated cotangents. Values that
    do not depend on a `wrt` value (frozen parameters, inputs, anything behind
    `kiln.stop_gradient`) get no backward ops.

    Before:
    ```mlir
    %y = kiln.mul %x, %x : tensor<f32>, tensor<f32> -> tensor<f32>
    %g = kiln.vjp %y, %one wrt %x : tensor<f32>, tensor<f32>
    ```
    After:
    ```mlir
    %y = kiln.mul %x, %x : tensor<f32>, tensor<f32> -> tensor<f32>
    %0 = kiln.mul %one, %x : ...
    %1 = kiln.mul %one, %x : ...
    %g = kiln.add %0, %1 : ...
    ```
  }];
  let dependentDialects = ["kiln::KilnDialect"];
}

def KilnCheckNumerics : Pass<"kiln-check-numerics", "mlir::ModuleOp"> {
  let summary = "Records the first op that produces a NaN or Inf (checked mode)";
  let description = [{
    Runs on differentiated kiln IR (`kilnc --check-numerics`). In every
    public function, each float argument and each float result of an op that
    can make a non-finite value from finite operands (not layout, select,
    compare, neg, abs, relu, maximum/minimum, reduce_max, random) gets a
    check `any(v - v != 0)`, numbered in program order from 1. The lowest
    failing id (0: all finite) becomes the new state result
    `kiln.numerics.first_nonfinite` (i32, an observation: written by every
    call, left out of checkpoints). The module attribute
    `kiln.numerics_sites` lists each id's "file:line:col op (role,
    parameter)"; the C header emits it as `<model>_numerics_sites` and
    `kiln_model_info::numerics_sites`. Without this pass nothing changes.

    Before:
    ```mlir
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = kiln.log %x : tensor<4xf32>
      return %y : tensor<4xf32>
    }
    ```
    After (the check of %x, id 1, is alike):
    ```mlir
    func.func @f(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<i32>)
        attributes {kiln.observations = ["kiln.numerics.first_nonfinite"], ...} {
      %y = kiln.log %x : tensor<4xf32>
      %d = kiln.sub %y, %y : ...
      %ne = kiln.compare "ne", %d, %zero : ...
      %bad = kiln.reduce_max %ne axes = [0] : tensor<4xf32> -> tensor<f32>
      ...
      %s2 = kiln.select %bad, %two, %zero : ...
      %s1 = kiln.select %bad_x, %one, %s2 : ...
      %slot = kiln.cast %s1 : tensor<f32> -> tensor<i32>
      return %y, %slot : tensor<4xf32>, tensor<i32>
    }
    ```
  }];
  let dependentDialects = ["kiln::KilnDialect"];
}

def KilnFuseElementwise : Pass<"kiln-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuses elementwise linalg producers where it costs no recomputation";
  let description = [{
    Upstream `linalg-fuse-elementwise-ops` also fuses a producer into a
    consumer that reads it through a broadcast or a contraction map, e.g. a
    relu or a transpose into the k loop of a matmul: the producer is then
    recomputed once per output column and read with a stride. This pass
    fuses only when the consumer's indexing map for the operand uses every
    loop of the consumer, so each producer element is computed once.

    Fused: `exp(x - m)` into `sum` over the same iteration space.
    Not fused: `relu(x)` into `matmul(relu(x), w)`.

    Each consumer absorbs all its fusible producers at once (a producer also
    used after the consumer stays a result of the fused op), so compile
    time grows linearly with the number of ops; upstream's pairwise fusion
    copies the growing body at every step.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def KilnVectorizeMatmul : Pass<"kiln-vectorize-matmul", "mlir::func::FuncOp"> {
  let summary = "Register-blocked vector code for f32 matrix products";
  let description = [{
    Runs on memrefs. Replaces each linalg.generic that is a 2-D matrix
    product `C[i,j] += op(A)[i,k] * op(B)[k,j]` (op a transpose where the
    operand's map is swapped: (k,i) for A, (j,k) for B) by BLIS's loop nest:
    for each KC-deep k block and each NR-column panel of op(B), the panel is
    packed into a contiguous KC x NR buffer (it stays in L1; a transposed B
    is read in place while packing, width x width blocks transposed in
    registers by vector.shuffle; a transposed A, or one of more than two
    MC-row chunks against more than two panels, is packed per chunk into
    MR-row micro-panels), then every
    MR-row block of C keeps
    MR x NR accumulators in vector registers across the k block
    (arith.mulf/addf with the contract flag on a broadcast of op(A) and rows
    of the panel: an fma where the core has one, never an fmaf call). MR x NR
    fills the register file: 6 x 16 on AVX2, 14 x 32 on AVX-512. The packed
    panels live in one stack buffer of the function (a static size, no heap;
    one slot per parallel worker), except where the generic has the third
    input of kiln-reserve-matmul-packing: then each k block of every panel
    is packed once into it (the workers splitting the panels) and read by
    every chunk of packed A, instead of packed again per chunk. With
    parallel-min-work, workers take the column panels (where A is not
    packed, each worker runs all k blocks of its panels: one fork per
    product) or, with fewer than two panels, the MR-row blocks against
    panels packed before the fork. Each element of C still sums its products
    in k order, as the scalar loop does, whatever the thread count: with
    contract=false the result does not depend on the vector width or the
    target (kilnc --deterministic). Ragged edges use smaller row blocks and
    masked vector loads and stores. A linalg.fill of C just before the
    product (only ops without memory effects between them) is folded into
    it: the first k block's accumulators start from the fill's value instead
    of loading C (BLIS's beta = 0), the same sums without the fill's pass
    over C and without reading C back. Other generics are left for the
    affine vectorizer.

    Before:
    ```mlir
    linalg.generic {indexing_maps = [(i,k), (j,k), (i,j)], iterator_types =
      ["parallel", "reduction", "parallel"]} ins(%A, %Bt) outs(%C) { mulf, addf }
    ```
    After:
    ```mlir
    %pack = memref.alloca() : memref<1x256x16xf32>
    scf.for %k0 ... { scf.for %panel ... {
      scf.for %jj ... { scf.for %kk ... { memref.load %Bt; memref.store %pack } }
      scf.for %i ... {
        %acc = scf.for %kk ... iter_args(...) { vector.load %pack; arith.mulf,
                                               arith.addf ... }
        vector.store ... } } }
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "16",
           "f32 lanes per vector register (16 = AVX-512, 8 = AVX2, 4 = NEON)">,
    Option<"parallelMinWork", "parallel-min-work", "int64_t", "0",
           "0: serial loops only; else a k block with at least this many "
           "multiply-adds and two column panels runs its panels on up to 8 "
           "workers of an scf.parallel (unpacked A: one fork for all k "
           "blocks), one with fewer panels its MR-row blocks (each element "
           "of C keeps its summation order)">,
    Option<"contract", "contract", "bool", "true",
           "let LLVM fuse each multiply-add into an fma where the core has one">,
    Option<"vectorRegisters", "vector-registers", "int64_t", "0",
           "vector registers of the target (0: 16 for width 8, AVX2; else "
           "32, AVX-512 and NEON): sizes the MR x NR register tile">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "32768",
           "L1 data cache of a core: a packed KC x NR panel of B takes half">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "524288",
           "L2 cache of a core: a packed MC x KC block of A takes a quarter">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def KilnReserveMatmulPacking : Pass<"kiln-reserve-matmul-packing", "mlir::func::FuncOp"> {
  let summary = "Room for a k block of B packed once per product, as a buffer to plan";
  let description = [{
    Runs on memrefs, before kiln-static-memory-plan. kiln-vectorize-matmul
    packs the k block of each NR-column panel of op(B) once per MC-row chunk
    of A: a 1024-row product packed all of B five times (a tenth of its
    time repeated copies). Packed once per k block, into one buffer shared by
    all chunks and threads (BLIS's KC x NC block of B), the panels take
    KC x n floats, 4 MiB for n = 4096: more than a stack should hold, so the
    buffer is a `memref.alloc` that the static memory plan places in the
    arena's scratch (live only during its product; the arena size and the
    memory report count it). For each matrix product at the top level of a
    function whose A kiln-vectorize-matmul packs in at least two chunks and
    whose B is larger than L2 (same options, same blocking:
    MatmulBlocking::sharedPanelsType; a B in L2 is packed again cheaply), the
    buffer becomes a third input of the generic with the map
    (i, k, j) -> (0, 0, 0), read by no iteration: the body ignores it, a
    scalar lowering of the generic is unchanged, and kiln-outline-matmuls
    passes it to the product's function. Products in loops (a convolution's
    chunks, maybe on threads) keep their per-chunk packing. Nothing changes
    with vector-width < 2.

    Before:
    ```mlir
    linalg.generic {indexing_maps = [(i,k), (k,j), (i,j)], ...}
      ins(%a, %b : memref<1024x4096xf32>, memref<4096x4096xf32>) outs(%c ...)
    ```
    After:
    ```mlir
    %packed = memref.alloc() {alignment = 64} : memref<256x256x16xf32>
    linalg.generic {indexing_maps = [(i,k), (k,j), (0,0,0), (i,j)], ...}
      ins(%a, %b, %packed : ...) outs(%c ...)
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "0",
           "kiln-vectorize-matmul's vector-width (0 or 1: no matmul pass, "
           "nothing to reserve)">,
    Option<"vectorRegisters", "vector-registers", "int64_t", "0",
           "kiln-vectorize-matmul's vector-registers">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "32768",
           "kiln-vectorize-matmul's l1-bytes">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "524288",
           "kiln-vectorize-matmul's l2-bytes">
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::linalg::LinalgDialect"];
}

def KilnOutlineMatmuls : Pass<"kiln-outline-matmuls", "mlir::ModuleOp"> {
  let summary = "Moves each matrix product into a private function, one per form";
  let description = [{
    Runs on memrefs, before kiln-vectorize-matmul. Each linalg.generic with
    the loops of a 2-D matrix product (parallel, reduction, parallel; two
    inputs and one output, static f32 memrefs with identity layouts), also
    one inside a convolution's chunk loop, becomes a call to a private
    function holding that generic alone; sites whose generics are identical up to their operands
    (shapes, transposes, body) share one function. kiln-vectorize-matmul
    then emits the packed, fully unrolled register-tile code once per form
    instead of once per site, and LLVM optimizes and compiles small
    functions instead of one train step of ~15k instructions (lenet): its
    instruction combining, induction-variable, strength-reduction and
    scheduling passes grow faster than linearly with a function's size.
    kiln-vectorize-matmul chooses serial or parallel loops from the product
    alone (not from loops around it), so the outlined product runs as it
    would have in place. The function has internal linkage
    (no symbol in the object, no clash between models) and LLVM's noinline
    (inlining it back would undo the point); with the bare-pointer calling
    convention a call passes three pointers. A fill of C with a constant
    just before the product (only ops without memory effects between them)
    moves into the function with it ("_init"), for kiln-vectorize-matmul
    to fold. Numbers do not change: the function holds the very same ops.

    Before:
    ```mlir
    func.func @step(%x: memref<128x400xf32>, %w: memref<120x400xf32>, %y: memref<128x120xf32>) {
      linalg.generic {indexing_maps = [(i,k), (j,k), (i,j)], ...}
        ins(%x, %w) outs(%y) { mulf, addf }
    ```
    After:
    ```mlir
    func.func @step(...) {
      call @kiln_matmul_128x400x120_tb(%x, %w, %y) : (...) -> ()
    func.func private @kiln_matmul_128x400x120_tb(%a: memref<128x400xf32>,
        %b: memref<120x400xf32>, %c: memref<128x120xf32>)
        attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]} {
      linalg.generic ... ins(%a, %b) outs(%c) { mulf, addf }
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::LLVM::LLVMDialect"];
}

def KilnMarkParallelLoops : Pass<"kiln-mark-parallel-loops", "mlir::func::FuncOp"> {
  let summary = "Marks big, dependence-free outermost affine loops as parallel";
  let description = [{
    Runs on affine loops before the super-vectorizer. An outermost affine.for
    whose iterations are independent (mlir::isLoopParallel: no loop-carried
    memory dependence, no iter_args), that holds another loop and whose nest
    runs at least `min-work` innermost iterations, gets the unit attribute
    `kiln.parallel`. The attribute only records the decision:
    kiln-parallelize-marked-loops acts on it after vectorization, so the
    vectorizer sees exactly the loops it sees without threads (its choices,
    and so every rounding, stay the same). A loop that the vectorizer itself
    rewrites loses the mark and stays serial. Small nests stay serial: a
    fork and join costs microseconds.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", "32768",
           "innermost iterations below which a loop nest stays serial">
  ];
}

def KilnParallelizeChunkLoops
    : Pass<"kiln-parallelize-chunk-loops", "mlir::func::FuncOp"> {
  let summary = "Runs a convolution's chunk loop in lanes on threads";
  let description = [{
    Runs after bufferization, before kiln-static-memory-plan. An scf.for
    marked kiln.chunk_lanes (convert-kiln-to-linalg marks the chunk loops
    of convolutions: each chunk writes its own slice of the output, or adds
    into buffers allocated outside the loop and zero-filled before it)
    becomes an scf.parallel over `lanes` lanes, each running the loop over
    its own contiguous range of chunks with its own copy of every buffer
    the loop body allocates (an arith.select by lane of `lanes` allocs; the
    memory plan places them apart, as they are live at the same time).
    Lanes after the first sum into their own zero-filled copies of the
    accumulated buffers, added to the first lane's after the loop, in lane
    order. One fork per convolution instead of one per chunk, and the same
    operations in the same order whatever the thread count: results are
    bit-identical across thread counts. Other loops lose the mark.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "2",
           "lanes (copies of the loop's buffers); below 2 the marks are "
           "dropped and the loops stay serial">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::linalg::LinalgDialect"];
}

def KilnParallelizeMarkedLoops
    : Pass<"kiln-parallelize-marked-loops", "mlir::func::FuncOp"> {
  let summary = "Turns affine loops marked kiln.parallel into affine.parallel";
  let description = [{
    The second half of kiln-mark-parallel-loops: each affine.for carrying
    `kiln.parallel` becomes an affine.parallel over the same iterations,
    which lower-affine makes an scf.parallel and convert-scf-to-openmp an
    OpenMP worksharing loop. Each iteration runs the same operations in the
    same order as before, on one thread: threaded results are bit-identical.
  }];
  let dependentDialects = ["mlir::AffineDialect"];
}

def KilnVectorizeChannelSums : Pass<"kiln-vectorize-channel-sums", "mlir::func::FuncOp"> {
  let summary = "Vector code for per-channel sums of NCHW tensors (bias gradients)";
  let description = [{
    Runs on memrefs. A generic whose loops are all reductions but the second
    (n, c, ...), reading its inputs at (n, c, ...) and adding a term of
    arith ops on them to its output at (c): a convolution's bias gradient,
    the ReLU's mask fused in. The affine lowering keeps each out[c] in
    memory (a scalar load, add and store per element, one dependent chain
    per channel). Here `vector-width` channels' sums live in the lanes of one
    vector: for each image and block of `vector-width` pixels, each channel's
    row of pixels is loaded (masked for a ragged end), the term computed as
    vectors, the block transposed in registers (vector.shuffle) and its
    columns added one pixel at a time. Each channel adds its terms in the
    scalar loops' order (n, then the pixels), so the bits do not change,
    whatever the width or the thread count; channel counts that are not a
    multiple of the width are left to the affine lowering.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "8",
           "channels per vector (a power of two, at least 4); else the pass "
           "does nothing">,
    Option<"parallelMinWork", "parallel-min-work", "int64_t", "0",
           "0: serial loops only; else a sum of at least this many terms "
           "runs its groups of channels as an scf.parallel (each channel is "
           "summed by one thread: the thread count changes no value)">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def KilnVectorizePooling : Pass<"kiln-vectorize-pooling", "mlir::func::FuncOp"> {
  let summary = "Vector code for max poolings whose windows tile the input";
  let description = [{
    Runs on memrefs. The generics of a max pooling whose windows tile its
    input (KilnToLinalgPool.cpp) read or write a [N, C, OH, KH, OW, KW] view
    whose rows (OW, KW) are contiguous: window reductions (loops (n, c, i, j
    | p, q), the forward max and the gradient's first argmax) and window
    spreads (loops (n, c, i, p, j, q) reading at (n, c, i, j), the
    gradient's scatter, KW = 2). Both become scf loops over (n, c, i[, p])
    around blocks of `vector-width` output columns (one shorter block for a
    ragged end): each window row is one contiguous vector load split into
    its KW columns by vector.shuffle, or, for a spread, the body's values
    for q = 0 and 1 interleaved into one row by vector.shuffle. The body
    (arith ops and linalg.index of p and q only) is applied lane-wise in
    the generic's own order, so every element gets the scalar loops' bits.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "8",
           "output columns per vector block; below 2 the pass does nothing">,
    Option<"parallelMinWork", "parallel-min-work", "int64_t", "0",
           "0: serial loops only; else a pooling whose output has at least "
           "this many elements runs its outermost loop as an scf.parallel "
           "(elements are independent: the thread count changes no value)">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def KilnVectorizeGathers : Pass<"kiln-vectorize-gathers", "mlir::func::FuncOp"> {
  let summary = "Vector row copies for gathers that read consecutive elements";
  let description = [{
    Runs on memrefs. A linalg.generic without inputs whose body only computes
    indices from linalg.index and yields `memref.load %src[...]` (the
    im2col and window gathers of convolutions) becomes scf loops over its
    outer dimensions around vector.load / vector.store rows, provided the
    innermost loop index enters only the load's last index, with
    coefficient 1, and both memrefs have unit innermost stride. Rows are
    `vector-width` lanes, with one shorter vector for a ragged end. Every
    vector access stays inside what the generic itself reads and writes.

    LLVM would not vectorize these loops itself: the source and destination
    are views of one arena, so it cannot prove that they do not overlap.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "16",
           "lanes per vector copy; below 2 the pass does nothing">,
    Option<"parallelMinWork", "parallel-min-work", "int64_t", "0",
           "0: serial loops only; else a gather of at least this many "
           "elements runs its outermost loop as an scf.parallel (a copy: "
           "the thread count cannot change any value)">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def KilnInferTransferBounds : Pass<"kiln-infer-transfer-bounds", "mlir::func::FuncOp"> {
  let summary = "Marks vector transfers that stay inside their memref in_bounds";
  let description = [{
    The affine super-vectorizer emits every vector.transfer_read/write
    without `in_bounds`, so vector-to-llvm lowers each one to a masked load
    or store whose mask compares the index with the dimension's size, even
    where the loop never steps past the end (3136 = 392 * 8 elements in a
    row). On x86 a masked store is several times slower than a plain one
    (AMD Zen 3: a zero fill of 12.8 MB takes ~60 times longer), and fills,
    optimizer updates and activations are nothing but such stores.

    This pass bounds each transfer index: a constant, the induction variable
    of an affine.for or scf.for with constant bounds (its last value is
    lb + step * ((ub - lb - 1) floordiv step)), or an affine.apply, arith.addi
    or arith.muli of such values (interval arithmetic). A vector dimension
    whose index is at most size - lanes is marked in bounds: the transfer
    becomes a plain vector.load / vector.store. Values are unchanged.

    Before (memref<4x3136xf32>):
      affine.for %j = 0 to 3136 step 8 {
        vector.transfer_write %v, %m[%i, %j] : vector<8xf32>, memref<4x3136xf32>
    After:
        vector.transfer_write %v, %m[%i, %j] {in_bounds = [true]} : ...
    A loop whose last vector alone crosses the end (`0 to 196 step 8`, the
    rows of a 14 x 14 image) is split into `0 to 192 step 8`, whose
    transfers are then in bounds, and a copy `192 to 196 step 8` for the
    last vector, which keeps its masks (not a loop with results: a
    reduction's partial sums).
  }];
  let dependentDialects = ["mlir::vector::VectorDialect"];
}

def KilnCollapseElementwiseDims : Pass<"kiln-collapse-elementwise-dims", "mlir::func::FuncOp"> {
  let summary = "Merges contiguous loops of elementwise generics on memrefs";
  let description = [{
    The affine super-vectorizer widens the innermost loop only: an
    elementwise op over NCHW images steps along rows of 28, 14 or 5
    elements, and every row ends in a masked (ragged) vector. This pass
    merges consecutive loops of an all-parallel linalg.generic on memrefs
    whose every operand either reads them as consecutive, contiguous
    dimensions in loop order or does not read them at all (a broadcast
    bias), viewing those operands through memref.collapse_shape: a ReLU
    over [64, 32, 28, 28] becomes one over [64, 25088], in whole vectors.
    The first loop is never merged: kiln-mark-parallel-loops splits it
    across threads, and the vectorizer would drop the mark of a loop it
    widens. Bodies that read linalg.index are left alone (their indices
    would change). Each element is computed by the same body: values are
    unchanged.

    Before:
      linalg.generic {indexing_maps = [(n, c, h, w) -> (n, c, h, w),
                                       (n, c, h, w) -> (c, 0, 0), ...]}
          ins(%x, %bias : memref<64x32x28x28xf32>, memref<32x1x1xf32>) ...
    After:
      %xc = memref.collapse_shape %x [[0], [1], [2, 3]]
      linalg.generic {indexing_maps = [(n, c, hw) -> (n, c, hw),
                                       (n, c, hw) -> (c, 0, 0), ...]}
          ins(%xc, %bias : memref<64x32x784xf32>, memref<32x1x1xf32>) ...
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def KilnTileTransposes : Pass<"kiln-tile-transposes", "mlir::func::FuncOp"> {
  let summary = "Tiles 2-D transposes on memrefs for cache locality";
  let description = [{
    A transpose reads its input along columns. Untiled, every element read
    touches a new cache line (and, for large matrices, a new page); in
    square tiles each line is used `tile-size` times before it is evicted.
  }];
  let options = [
    Option<"tileSize", "tile-size", "int64_t", "16", "tile edge in elements">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def KilnDeterministicCSE : Pass<"kiln-deterministic-cse", "mlir::func::FuncOp"> {
  let summary = "CSE whose result does not depend on where ops were allocated";
  let description = [{
    Merges each side-effect-free op into the first identical op before it in
    its block, like upstream `cse`, including ops with one single-block
    region (linalg.generic, linalg.fill on tensors), but never by address.
    Upstream MLIR 16 compares two region bodies after sorting the operands
    of each commutative op by pointer, so two identical bodies with a
    commutative op on results from the body (a padding's bounds check)
    compared equal only when their ops happened to lie in memory in the same
    order, which changed from run to run: the same program compiled twice
    kept one padding or two and got a different arena. Such region ops are
    never merged here (the backward pass recomputes the padding rather than
    keeping the forward pass's alive across the step, which the memory plan
    prefers); a commutative op matches with its operands in place or
    swapped. Used instead of `cse` on tensors.
  }];
}

def KilnPrepareBufferization : Pass<"kiln-prepare-bufferization", "mlir::func::FuncOp"> {
  let summary = "Marks which function arguments bufferization may overwrite";
  let description = [{
    One-shot bufferization treats function arguments as writable, which
    would let it reuse a caller's input batch as scratch. Only model state
    that the function itself updates (named in both `kiln.state_args` and
    `kiln.state_results`) stays writable; every other argument gets
    `bufferization.writable = false`.

    Each use of a `tensor.empty` also gets its own copy, placed right
    before the user: CSE merges the identical empties of repeated code (the
    micro-batches of gradient accumulation), and bufferization would turn
    one shared empty into one buffer reused in place from the first
    micro-batch to the last, which the memory plan cannot share.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::tensor::TensorDialect"];
}

def KilnStaticMemoryPlan : Pass<"kiln-static-memory-plan", "mlir::ModuleOp"> {
  let summary = "Places every buffer of a bufferized function in one static arena";
  let description = [{
    Runs after bufferization and buffer-results-to-out-params, on functions
    carrying `kiln.state_args` / `kiln.state_results` (one string per
    argument and per former result; "" for plain inputs and outputs, which
    kiln-prepare-bufferization adds when missing). The arena becomes the
    first argument, a `memref<Nxi8>`:

      [ model state at fixed offsets, shared by all functions | scratch ]

    State arguments and state out-parameters disappear from the signature
    and become `memref.view`s of their slot; writes of new state move to the
    end of the function (through a scratch copy when the new value is itself
    an argument) so that every read of the old state comes first. Every
    other `memref.alloc` becomes a view into scratch, at an offset chosen
    from live ranges (first fit, largest first). The module gets
    `kiln.arena_bytes`, `kiln.state_bytes` and `kiln.state_layout`; each
    function gets `kiln.num_outputs` (its trailing output pointers).

    Before:
    ```mlir
    func.func @f(%x: memref<4xf32>, %out: memref<4xf32>) {
      %t = memref.alloc() : memref<4xf32>
      ...
    }
    ```
    After:
    ```mlir
    func.func @f(%arena: memref<64xi8>, %x: memref<4xf32>, %out: memref<4xf32>) {
      %t = memref.view %arena[%c0][] : memref<64xi8> to memref<4xf32>
      ...
    }
    ```
  }];
  let options = [
    Option<"pointerBits", "pointer-bits", "unsigned", "64",
           "pointer width of the target: every buffer, offset and the arena "
           "size must fit in a signed integer of this width (32 on Cortex-M)">,
    Option<"recordPlan", "record-plan", "bool", "false",
           "also attach the plan to each function as `kiln.memory_plan`: one "
           "dictionary per scratch buffer (arena offset, bytes, first and last "
           "top-level op, source location), for kilnc --emit=memory-report "
           "and --memory-budget">
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def KilnMathToLibm : Pass<"kiln-math-to-libm", "mlir::ModuleOp"> {
  let summary = "Calls libm for the math ops LLVM has no intrinsic for (tanh, erf, ...)";
  let description = [{
    Used instead of kiln-approximate-math (kilnc --no-approx-math). Rewrites
    math.tanh, erf, atan, atan2, tan and log1p, scalar or vector, to calls
    of libm's tanhf/tanh, ...; every other math op is left for
    convert-math-to-llvm. (Upstream convert-math-to-libm fails on any other
    math op in MLIR 16.)

      %t = math.tanh %x : f32   ->   %t = call @tanhf(%x) : (f32) -> f32
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}

def KilnApproximateMath : Pass<"kiln-approximate-math", "mlir::ModuleOp"> {
  let summary = "Replaces f32 math.exp/log/tanh/powf with kiln's own arith code";
  let description = [{
    Removes libm calls so the generated code runs on targets without a math
    library (microcontrollers) and vectorizes on CPUs. The expansions use
    neither fma nor floor nor double, so no helper call appears on any core.
    Maximum error over all floats: exp 1, log 1, tanh 2, pow 2 ulp
    (ApproximateMathTest).
  }];
  let dependentDialects = ["mlir::math::MathDialect", "mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}


def KilnMapToGPU : Pass<"kiln-map-to-gpu", "mlir::func::FuncOp"> {
  let summary = "Turns every linalg op of a planned function into a gpu.launch";
  let description = [{
    Runs after kiln-static-memory-plan for the NVPTX target. Every pointer
    argument of the function is a device pointer there, so nothing on the
    host may touch memory: each `linalg` op (and each `memref.copy`, first
    rewritten as a copy `linalg.generic`, or a `linalg.fill` when it copies
    a splat constant global) becomes one 1-D `gpu.launch`. A matmul-shaped
    generic (C += A * B, either operand transposed) becomes a tiled kernel:
    64x64 C tiles per block of 256 threads, A and B staged in shared memory
    16 deep, a 4x4 register tile per thread. A reduction with an
    associative combiner (add, mul, max, min) over at least
    `block-reduction-min-size` elements per output runs one block per
    output: threads stride over the reduction, then a tree in shared memory
    with a `gpu.barrier` per level. Anything else runs one thread per point
    of the op's parallel iteration space, looping over the reduction
    dimensions itself. Shared memory is a top-level `memref.alloca` in
    memory space 3 (kiln-gpu-workgroup-memory makes it an attribution after
    outlining), and only memory crosses a barrier, never an SSA value, so
    kiln-emulate-gpu-launches runs these kernels exactly. The arena views and constants a kernel
    uses are cloned into its body, so after outlining each kernel takes
    only the function's own arguments. Anything else that would touch
    memory on the host is an error.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::AffineDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "threads per block of a one-thread-per-element kernel">,
    Option<"blockReductionMinSize", "block-reduction-min-size", "int64_t", "64",
           "reductions over at least this many elements per output run as "
           "one block per output, combined in shared memory">,
    Option<"tiledMatmulMinWork", "tiled-matmul-min-work", "int64_t", "65536",
           "matmuls of at least this many multiply-adds use the tiled "
           "shared-memory kernel">,
    Option<"tf32", "tf32", "bool", "false",
           "tiled matmuls multiply on tensor cores (mma.sync.m16n8k8, inputs "
           "rounded to TF32, FP32 sums; sm_80 and later)">
  ];
}

def KilnSerializeToPTX : Pass<"kiln-serialize-to-ptx", "mlir::ModuleOp"> {
  let summary = "Compiles the NVVM gpu.modules to PTX with LLVM's NVPTX backend";
  let description = [{
    The kernels of every `gpu.module` (already lowered to the LLVM/NVVM
    dialects) are translated together to one LLVM module, optimized and
    compiled for `chip` by LLVM's NVPTX target; the PTX text is attached to
    the builtin module as the string attribute `kiln.ptx`.
    MLIR 16 has no serializer that works without CUDA at MLIR's build time.
  }];
  let options = [
    Option<"chip", "chip", "std::string", "\"sm_80\"", "NVPTX target (sm_XX)">,
    Option<"features", "features", "std::string", "\"+ptx78\"",
           "NVPTX features (PTX ISA version)">,
    Option<"optLevel", "opt-level", "unsigned", "3", "LLVM optimization level">
  ];
}

def KilnGPUToRuntimeCalls : Pass<"kiln-gpu-to-runtime-calls", "mlir::ModuleOp"> {
  let summary = "Lowers gpu.launch_func to calls of kiln's CUDA runtime";
  let description = [{
    Embeds the `kiln.ptx` of each gpu.module as a NUL-terminated constant
    and replaces every `gpu.launch_func` with

      int32_t kiln_cuda_launch(const char *ptx, const char *kernel,
                               uint32_t grid, uint32_t block,
                               const uint64_t *params, int32_t num_params);

    where `params` holds the kernel's parameters as NVVM expects them: each
    memref argument expanded to (allocated, aligned, offset, sizes,
    strides). The runtime loads each PTX image once and caches functions,
    so a step performs no module load. The gpu.modules are then erased.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def KilnGPUWorkgroupMemory : Pass<"kiln-gpu-workgroup-memory", "mlir::gpu::GPUModuleOp"> {
  let summary = "Turns a kernel's workgroup allocas into gpu.func workgroup attributions";
  let description = [{
    MLIR 16's `gpu.launch` has no memory attributions, so kiln-map-to-gpu
    marks a kernel's shared memory as a top-level `memref.alloca` in memory
    space 3 (what kiln-emulate-gpu-launches runs as one buffer per block).
    After outlining, each becomes a workgroup attribution of its `gpu.func`,
    which convert-gpu-to-nvvm lowers to an `addrspace(3)` global (PTX
    `.shared`); NVPTX cannot allocate on the stack in that space.
  }];
}

def KilnExpandMathForNVPTX : Pass<"kiln-expand-math-for-nvptx"> {
  let summary = "Rewrites math ops the NVVM lowering would turn into libdevice calls";
  let description = [{
    convert-gpu-to-nvvm lowers math.floor/ceil/absf/fma to calls of
    libdevice's __nv_* functions and rejects the LLVM intrinsics for them,
    and kiln links no libdevice. After kiln-approximate-math only these
    remain; this pass writes them with arith ops (floor and ceil exactly,
    through an integer round trip below 2^23 / 2^52; absf by clearing the
    sign bit) and fma as llvm.intr.fma, which NVPTX selects as fma.rn.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::LLVM::LLVMDialect"];
}

def KilnEmulateGPULaunches : Pass<"kiln-emulate-gpu-launches", "mlir::func::FuncOp"> {
  let summary = "Runs each gpu.launch body in host loops (tests without a GPU)";
  let description = [{
    Replaces every `gpu.launch` with sequential loops over its blocks and
    threads around a copy of its body, so kernels made by kiln-map-to-gpu
    run through the CPU pipeline and can be compared with the reference
    interpreter on machines without a GPU. A body that synchronizes is cut
    at each `gpu.barrier` into phases, each looped over all threads of the
    block before the next (a barrier may also sit in a top-level `scf.for`
    whose bounds every thread shares, if a barrier precedes the loop and
    ends its body: then every phase boundary is a real barrier). Top-level `memref.alloca`s are the
    kernel's memory: in memory space 3 one buffer per block (workgroup
    memory, NaN when a block starts), in the default space one per thread
    (private memory, kept across phases). Pure values used across a barrier
    are recomputed; anything else crossing one is an error, as is a
    barrier under a condition. Index computations, guards, reductions and
    barrier placement are checked this way; races within a phase are not.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::arith::ArithDialect"];
}

#endif // KILN_TRANSFORMS_PASSES
