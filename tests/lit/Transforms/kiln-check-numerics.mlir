// kiln-check-numerics: every float argument and every op that can make a
// NaN/Inf from finite operands gets a check; the lowest failing site id
// becomes the state result kiln.numerics.first_nonfinite (an observation);
// the module lists each site's source, op, role and parameter.
// RUN: kiln-opt %s -kiln-check-numerics | FileCheck %s
// Instrumenting twice changes nothing.
// RUN: kiln-opt %s -kiln-check-numerics -kiln-check-numerics | FileCheck %s

// Sites in program order: the arguments w and x, then the ops of @step
// (relu and the layout op are not checked), then @predict. Forward: what
// the loss depends on; an update: what becomes new state.
// CHECK: module attributes {kiln.numerics_sites = [
// CHECK-SAME: "state w on entry to step", "input in0 of step", "model.cpp:10:3 kiln.log (forward, w)", "model.cpp:11:5 kiln.mul (forward)", "model.cpp:13:1 kiln.cast (forward)", "model.cpp:14:1 kiln.reduce_sum (forward)", "model.cpp:15:1 kiln.cast (forward)", "model.cpp:16:1 kiln.div (backward, w)", "model.cpp:17:1 kiln.sub (update of w)",
// CHECK-SAME: "state w on entry to predict", "input in0 of predict", "model.cpp:20:7 kiln.div (forward, w)"]}

// CHECK-LABEL: func.func @step
// CHECK-SAME: -> (tensor<3xf32>, tensor<f32>, tensor<i32>)
// CHECK-SAME: kiln.observations = ["kiln.numerics.first_nonfinite"]
// CHECK-SAME: kiln.state_args = ["w", ""]
// CHECK-SAME: kiln.state_results = ["w", "", "kiln.numerics.first_nonfinite"]
// The check of the log's result, right after it: v - v != 0 anywhere.
// CHECK: %[[LOG:.*]] = kiln.log %{{.*}} : tensor<3xf32>
// CHECK-NEXT: %[[D:.*]] = kiln.sub %[[LOG]], %[[LOG]]
// CHECK-NEXT: %[[ZERO:.*]] = kiln.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[NE:.*]] = kiln.compare "ne", %[[D]], %[[ZERO]]
// CHECK-NEXT: %[[LOGBAD:.*]] = kiln.reduce_max %[[NE]] axes = [0] : tensor<3xf32> -> tensor<f32>
// CHECK: kiln.relu
// CHECK-NOT: kiln.sub
// CHECK: kiln.reshape
// CHECK-NOT: kiln.sub
// CHECK: %[[P:.*]] = kiln.mul
// CHECK-NEXT: kiln.sub %[[P]], %[[P]]
// An f64 value is checked in f64, its flag cast to f32.
// CHECK: kiln.cast %[[P]] : tensor<3xf32> -> tensor<3xf64>
// CHECK: kiln.reduce_max %{{.*}} axes = [0] : tensor<3xf64> -> tensor<f64>
// CHECK-NEXT: kiln.cast %{{.*}} : tensor<f64> -> tensor<f32>
// Lowest id first: site 1 (w) is the outermost select.
// CHECK: %[[C4:.*]] = kiln.constant dense<4.000000e+00>
// CHECK-NEXT: %[[S4:.*]] = kiln.select %{{.*}}, %[[C4]], %{{.*}}
// CHECK: %[[C3:.*]] = kiln.constant dense<3.000000e+00>
// CHECK-NEXT: %[[S3:.*]] = kiln.select %[[LOGBAD]], %[[C3]], %[[S4]]
// CHECK: %[[C1:.*]] = kiln.constant dense<1.000000e+00>
// CHECK-NEXT: %[[S1:.*]] = kiln.select %{{.*}}, %[[C1]], %{{.*}}
// CHECK-NEXT: %[[SLOT:.*]] = kiln.cast %[[S1]] : tensor<f32> -> tensor<i32>
// CHECK-NEXT: return %{{.*}}, %{{.*}}, %[[SLOT]] : tensor<3xf32>, tensor<f32>, tensor<i32>
func.func @step(%w: tensor<3xf32>, %x: tensor<3xf32>) -> (tensor<3xf32>, tensor<f32>)
    attributes {kiln.state_args = ["w", ""], kiln.state_results = ["w", ""]} {
  %l = kiln.log %w : tensor<3xf32> loc("/src/model.cpp":10:3)
  %r = kiln.relu %l : tensor<3xf32> loc("/src/model.cpp":12:1)
  %s = kiln.reshape %r : tensor<3xf32> -> tensor<3xf32>
  %p = kiln.mul %s, %x : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32> loc("/src/model.cpp":11:5)
  %c = kiln.cast %p : tensor<3xf32> -> tensor<3xf64> loc("/src/model.cpp":13:1)
  %sum = kiln.reduce_sum %c axes = [0] : tensor<3xf64> -> tensor<f64> loc("/src/model.cpp":14:1)
  %loss = kiln.cast %sum : tensor<f64> -> tensor<f32> loc("/src/model.cpp":15:1)
  %g = kiln.div %x, %w : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32> loc("/src/model.cpp":16:1)
  %nw = kiln.sub %w, %g : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32> loc("/src/model.cpp":17:1)
  return %nw, %loss : tensor<3xf32>, tensor<f32>
}

// An integer argument gets no check.
// CHECK-LABEL: func.func @predict
// CHECK-SAME: kiln.state_results = ["", "kiln.numerics.first_nonfinite"]
func.func @predict(%w: tensor<3xf32>, %x: tensor<3xf32>, %n: tensor<i32>) -> tensor<3xf32>
    attributes {kiln.state_args = ["w", "", ""], kiln.state_results = [""]} {
  %y = kiln.div %x, %w : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32> loc("/src/model.cpp":20:7)
  return %y : tensor<3xf32>
}
