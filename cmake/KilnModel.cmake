# Build-time model compilation (in the spirit of Halide's add_halide_library).
#
#   kiln_add_model(NAME mlp SOURCES mlp.cpp [FLAGS --mcpu=...])
#     builds the generator `mlp-gen` from the model source, runs it to produce
#     mlp/mlp.o and mlp/mlp.h (plus mlp/mlp.mlir: the forward and generated
#     backward IR), and wraps the object as the static library `mlp_model`
#     whose include directory holds mlp.h.
#   kiln_add_model(NAME mlp SOURCES mlp.cpp DETERMINISTIC)
#     compiles with kilnc --deterministic: bit-identical results on every
#     target compiled the same way (docs/devices.md); also with TARGET.
#   kiln_add_model(NAME mlp [SOURCES mlp.cpp] TARGET aarch64-linux-gnu [FLAGS ...])
#     cross-compiles the model for a target triple (aarch64-linux-gnu,
#     riscv64-linux-gnu, thumbv7em-none-eabihf): mlp-<triple>/mlp.{o,h} and the
#     custom target `mlp_model_<triple>`, whose KILN_MODEL_OBJECT and
#     KILN_MODEL_INCLUDE_DIR properties kiln_add_device_program reads. The
#     generator is shared with the host build of the same NAME, so SOURCES
#     may be left out when that exists.
#   kiln_add_model(NAME mlp TARGET cuda [FLAGS --mcpu=sm_90])
#     the NVPTX build (nvptx64-nvidia-cuda, docs/gpu.md): mlp-cuda/mlp.{o,h},
#     its functions renamed mlp_cuda_* so it links beside the CPU build, as
#     the static library `mlp_model_cuda`, which also defines mlp_cuda_model()
#     (kiln/runtime/cuda_trainer.h). Builds without CUDA; runs need a driver.
#   kiln_add_model(NAME mlp TARGET cuda VARIANT tf32 FLAGS --mattr=+tf32)
#     a second NVPTX build of the same model, `mlp_model_cuda_tf32` in
#     mlp-cuda-tf32/ (same symbols as mlp_model_cuda: link one of them).
#   kiln_add_trainer(mlp)
#     links `mlp-train`: the runtime's trainer driving the compiled model;
#     after kiln_add_model(NAME mlp TARGET cuda) also `mlp-train-cuda`, which
#     takes --device cuda (and trains on the CPU with --device cpu).
#   kiln_add_trainer(mlp VARIANT tf32)
#     links `mlp-train-cuda-tf32` from mlp_model_cuda_tf32 instead.
#   kiln_add_device_program(NAME p TARGET <triple> MODEL mlp SOURCES p.c ...)
#     builds a program for the target with the cross toolchain of
#     cmake/toolchains/ (a sub-build of runtime/device/program), linking the
#     model's object and the C device runtime; see below and docs/devices.md.
#
# The same file serves kiln's own build and, installed beside kilnConfig.cmake,
# other projects (find_package(kiln), docs/first-model.md): it links the
# targets kiln::generator_main and kiln::runtime, which are aliases here and
# imported targets there, and kilnConfig.cmake sets KILN_DEVICE_PROGRAM_DIR to
# the installed copy of runtime/device/program.

include(ExternalProject)

# Host models run their parallel loops on LLVM's OpenMP runtime (the objects
# call __kmpc_fork_call; GCC's libgomp does not provide it): Debian's
# libomp-16-dev, beside the LLVM this build uses.
find_library(KILN_OPENMP_LIBRARY NAMES omp HINTS ${LLVM_LIBRARY_DIR} NO_DEFAULT_PATH)
if(NOT KILN_OPENMP_LIBRARY)
  message(FATAL_ERROR "kiln: libomp not found in ${LLVM_LIBRARY_DIR} "
    "(scripts/setup.sh installs libomp-16-dev)")
endif()

set(KILN_TOOLCHAIN_DIR ${CMAKE_CURRENT_LIST_DIR}/toolchains)
if(NOT KILN_DEVICE_PROGRAM_DIR)
  set(KILN_DEVICE_PROGRAM_DIR ${CMAKE_CURRENT_LIST_DIR}/../runtime/device/program)
endif()

# The toolchain file of a target triple.
function(kiln_toolchain_file triple out)
  if(triple STREQUAL "thumbv7em-none-eabihf")
    set(file ${KILN_TOOLCHAIN_DIR}/cortex-m4.cmake)
  else()
    set(file ${KILN_TOOLCHAIN_DIR}/${triple}.cmake)
  endif()
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "kiln: no toolchain file for target '${triple}' (have "
      "aarch64-linux-gnu, riscv64-linux-gnu, thumbv7em-none-eabihf)")
  endif()
  set(${out} ${file} PARENT_SCOPE)
endfunction()

function(kiln_add_model)
  cmake_parse_arguments(ARG "DETERMINISTIC" "NAME;TARGET;VARIANT" "SOURCES;FLAGS" ${ARGN})
  set(name ${ARG_NAME})
  if(ARG_DETERMINISTIC)
    list(APPEND ARG_FLAGS --deterministic)
  endif()
  if(NOT TARGET ${name}-gen)
    add_executable(${name}-gen ${ARG_SOURCES})
    target_link_libraries(${name}-gen PRIVATE kiln::generator_main)
    target_compile_options(${name}-gen PRIVATE -fexceptions)
    # Generators sit beside kilnc so lit tests can run them.
    set_target_properties(${name}-gen PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  endif()

  if(ARG_TARGET STREQUAL "cuda" OR ARG_TARGET STREQUAL "nvptx64-nvidia-cuda")
    kiln_add_cuda_model(${name} "${ARG_FLAGS}" "${ARG_VARIANT}")
    return()
  endif()
  if(ARG_VARIANT)
    message(FATAL_ERROR "kiln_add_model(NAME ${name}): VARIANT is for TARGET cuda")
  endif()
  if(ARG_TARGET)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}-${ARG_TARGET})
    add_custom_command(
      OUTPUT ${out}/${name}.o ${out}/${name}.h
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND ${name}-gen --emit=obj --target=${ARG_TARGET} ${ARG_FLAGS}
              -o ${out}/${name}.o
      DEPENDS ${name}-gen
      COMMENT "kiln: compiling model ${name} for ${ARG_TARGET}"
      VERBATIM)
    add_custom_target(${name}_model_${ARG_TARGET} ALL DEPENDS ${out}/${name}.o ${out}/${name}.h)
    set_target_properties(${name}_model_${ARG_TARGET} PROPERTIES
      KILN_MODEL_OBJECT ${out}/${name}.o KILN_MODEL_INCLUDE_DIR ${out})
    return()
  endif()

  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name})
  add_custom_command(
    OUTPUT ${out}/${name}.o ${out}/${name}.h ${out}/${name}.mlir
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${name}-gen --emit=obj -o ${out}/${name}.o
            --mlir-output=${out}/${name}.mlir ${ARG_FLAGS}
    DEPENDS ${name}-gen
    COMMENT "kiln: compiling model ${name}"
    VERBATIM)
  add_library(${name}_model STATIC ${out}/${name}.o ${out}/${name}.h)
  set_target_properties(${name}_model PROPERTIES LINKER_LANGUAGE C)
  target_include_directories(${name}_model INTERFACE ${out})
  target_link_libraries(${name}_model INTERFACE ${KILN_OPENMP_LIBRARY})
endfunction()

# The NVPTX build of model \p name: see kiln_add_model(... TARGET cuda).
function(kiln_add_cuda_model name flags variant)
  find_program(KILN_LLVM_OBJCOPY NAMES llvm-objcopy-16 llvm-objcopy
    HINTS ${KILN_LLVM_TOOLS_DIR} REQUIRED)
  set(suffix "")
  if(variant)
    set(suffix _${variant})
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}-cuda${suffix})
  set(renames)
  foreach(fn init train_step predict)
    list(APPEND renames --redefine-sym ${name}_${fn}=${name}_cuda_${fn})
  endforeach()
  add_custom_command(
    OUTPUT ${out}/${name}_cuda.o ${out}/${name}.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${name}-gen --emit=obj --target=nvptx64-nvidia-cuda ${flags}
            -o ${out}/${name}.o
    COMMAND ${KILN_LLVM_OBJCOPY} ${renames} ${out}/${name}.o ${out}/${name}_cuda.o
    DEPENDS ${name}-gen
    COMMENT "kiln: compiling model ${name} for nvptx64-nvidia-cuda ${flags}"
    VERBATIM)
  # The GPU header declares <name>_init...; the macros give them the
  # renamed symbols' names in this one file.
  set(adapter ${out}/${name}_cuda_model.c)
  string(TOUPPER ${name} upper)
  file(WRITE ${adapter}.in
    "#define ${name}_init ${name}_cuda_init\n"
    "#define ${name}_train_step ${name}_cuda_train_step\n"
    "#define ${name}_predict ${name}_cuda_predict\n"
    "#include \"${name}.h\" /* the GPU header */\n"
    "#include \"kiln/runtime/cuda_trainer.h\"\n\n"
    "static void train_step(void *arena, const float *x, const void *y,\n"
    "                       const float *lr, float *loss) {\n"
    "  ${name}_train_step(arena, x, y, lr, loss);\n"
    "}\n\n"
    "const kiln_cuda_model *${name}_cuda_model(void) {\n"
    "  static const kiln_cuda_model model = {${name}_init, train_step,\n"
    "                                        ${name}_predict,\n"
    "                                        ${upper}_DEVICE_ARENA_BYTES};\n"
    "  return &model;\n"
    "}\n")
  configure_file(${adapter}.in ${adapter} COPYONLY)
  add_library(${name}_model_cuda${suffix} STATIC ${adapter} ${out}/${name}_cuda.o
              ${out}/${name}.h)
  target_include_directories(${name}_model_cuda${suffix} PRIVATE ${out})
  target_link_libraries(${name}_model_cuda${suffix} PUBLIC kiln::runtime)
endfunction()

# The trainer \p exe: \p main linked with the CPU model and the NVPTX
# model library \p cuda_library. Copied to GPU machines by
# scripts/gpu-check.sh: no libstdc++ needed there.
function(kiln_add_cuda_trainer exe main name cuda_library)
  add_executable(${exe} ${main})
  target_compile_definitions(${exe} PRIVATE KILN_WITH_CUDA)
  target_link_libraries(${exe} PRIVATE ${name}_model ${cuda_library} kiln::runtime)
  target_link_options(${exe} PRIVATE -static-libstdc++ -static-libgcc)
endfunction()

function(kiln_add_trainer name)
  cmake_parse_arguments(ARG "" "VARIANT" "" ${ARGN})
  # One main for every trainer; KILN_WITH_CUDA adds the GPU build.
  set(main ${CMAKE_CURRENT_BINARY_DIR}/${name}/${name}_train_main.cpp)
  if(ARG_VARIANT)
    kiln_add_cuda_trainer(${name}-train-cuda-${ARG_VARIANT} ${main} ${name}
                          ${name}_model_cuda_${ARG_VARIANT})
    return()
  endif()
  file(WRITE ${main}.in
    "#include \"${name}.h\"\n"
    "#include \"kiln/runtime/cuda_trainer.h\"\n\n"
    "#ifdef KILN_WITH_CUDA\n"
    "extern \"C\" const kiln_cuda_model *${name}_cuda_model(void);\n"
    "#else\n"
    "static const kiln_cuda_model *${name}_cuda_model(void) { return 0; }\n"
    "#endif\n\n"
    "int main(int argc, char **argv) {\n"
    "  return kiln_train_main_cuda(${name}_model_info(), ${name}_cuda_model(), argc, argv);\n"
    "}\n")
  configure_file(${main}.in ${main} COPYONLY)
  add_executable(${name}-train ${main})
  target_link_libraries(${name}-train PRIVATE ${name}_model kiln::runtime)
  if(TARGET ${name}_model_cuda)
    kiln_add_cuda_trainer(${name}-train-cuda ${main} ${name} ${name}_model_cuda)
  endif()
endfunction()

# Whether the cross toolchain of \p triple can build programs here: sets
# \p out to "" if so, else to the reason (a missing compiler or C library),
# and \p emulator to the command that runs the target's programs.
function(kiln_check_toolchain triple out emulator)
  kiln_toolchain_file(${triple} file)
  # The toolchain file only sets variables; read them in this scope.
  include(${file})
  set(${emulator} ${KILN_TARGET_EMULATOR} PARENT_SCOPE)
  find_program(compiler ${CMAKE_C_COMPILER} NO_CACHE)
  if(NOT compiler)
    set(${out} "${CMAKE_C_COMPILER} not found (scripts/setup.sh installs it)" PARENT_SCOPE)
    return()
  endif()
  # Compile (Linux: and link) a trivial program, which needs the target's C
  # library: Debian's libc6-dev-*-cross or libnewlib-arm-none-eabi.
  set(probe ${CMAKE_BINARY_DIR}/CMakeFiles/kiln-toolchain-probe-${triple})
  file(WRITE ${probe}.c "#include <stdio.h>\n#include <math.h>\nint main(void) { return 0; }\n")
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(probe_args -static ${probe}.c -o ${probe} -lm)
  else()
    separate_arguments(probe_args UNIX_COMMAND "${CMAKE_C_FLAGS_INIT}")
    list(APPEND probe_args -c ${probe}.c -o ${probe}.o)
  endif()
  execute_process(COMMAND ${compiler} ${probe_args} RESULT_VARIABLE rc
                  OUTPUT_QUIET ERROR_VARIABLE probe_error)
  if(NOT rc EQUAL 0)
    set(${out} "${CMAKE_C_COMPILER} cannot build a C program (its C library is missing; "
               "scripts/setup.sh installs it)" PARENT_SCOPE)
    return()
  endif()
  set(${out} "" PARENT_SCOPE)
endfunction()

#   kiln_add_device_program(NAME prog TARGET <triple> MODEL m SOURCES a.c ...
#                           [INCLUDE_DIRECTORIES dir...] [DEPENDS target...]
#                           [LINKER_SCRIPT file.ld])
# Builds `prog` for the target from SOURCES, the object of
# kiln_add_model(NAME m TARGET <triple>) and the C device runtime, with the
# triple's toolchain file (a Cortex-M4 program also gets the MPS2 AN386
# startup code and linker script, or LINKER_SCRIPT, a script in
# runtime/device/firmware/mps2-an386 such as mps2-an386-256k.ld). Sets in the caller's scope:
#   <prog>_PROGRAM        the executable (an .elf for bare metal)
#   <prog>_EMULATOR       the command that runs it (qemu-user, qemu-system-arm)
#   <prog>_SKIP_REASON    why it was not built ("" if it was): a missing
#                         cross compiler or C library leaves it out instead of
#                         failing the build
function(kiln_add_device_program)
  cmake_parse_arguments(ARG "" "NAME;TARGET;MODEL;LINKER_SCRIPT"
                        "SOURCES;INCLUDE_DIRECTORIES;DEPENDS" ${ARGN})
  set(name ${ARG_NAME})
  kiln_check_toolchain(${ARG_TARGET} skip emulator)
  set(${name}_EMULATOR ${emulator} PARENT_SCOPE)
  set(${name}_SKIP_REASON "${skip}" PARENT_SCOPE)
  if(skip)
    message(STATUS "kiln: not building ${name}: ${skip}")
    return()
  endif()
  kiln_toolchain_file(${ARG_TARGET} toolchain)
  set(model_target ${ARG_MODEL}_model_${ARG_TARGET})
  get_target_property(object ${model_target} KILN_MODEL_OBJECT)
  get_target_property(model_include ${model_target} KILN_MODEL_INCLUDE_DIR)
  # Bare metal: optimise for size (flash is the scarce resource there).
  set(suffix "")
  set(build_type Release)
  if(ARG_TARGET MATCHES "-none-")
    set(suffix .elf)
    set(build_type MinSizeRel)
  endif()
  set(binary_dir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(sources)
  foreach(source ${ARG_SOURCES})
    get_filename_component(source ${source} ABSOLUTE)
    list(APPEND sources ${source})
  endforeach()
  string(REPLACE ";" "|" sources "${sources}")
  string(REPLACE ";" "|" includes "${model_include};${ARG_INCLUDE_DIRECTORIES}")
  set(linker_args)
  if(ARG_LINKER_SCRIPT)
    get_filename_component(script ${ARG_LINKER_SCRIPT} ABSOLUTE)
    set(linker_args -DKILN_LINKER_SCRIPT=${script})
  endif()
  ExternalProject_Add(${name}
    SOURCE_DIR ${KILN_DEVICE_PROGRAM_DIR}
    BINARY_DIR ${binary_dir}
    LIST_SEPARATOR |
    CMAKE_ARGS
      -DCMAKE_TOOLCHAIN_FILE=${toolchain}
      -DCMAKE_BUILD_TYPE=${build_type}
      -DCMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER}
      -DKILN_PROGRAM_NAME=${name}
      -DKILN_PROGRAM_SOURCES=${sources}
      -DKILN_PROGRAM_INCLUDE_DIRS=${includes}
      -DKILN_MODEL_OBJECT=${object}
      ${linker_args}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    BUILD_BYPRODUCTS ${binary_dir}/${name}${suffix}
    DEPENDS ${model_target} ${ARG_DEPENDS})
  set(${name}_PROGRAM ${binary_dir}/${name}${suffix} PARENT_SCOPE)
endfunction()
