# Build-time model compilation (in the spirit of Halide's add_halide_library).
#
#   kiln_add_model(NAME mlp SOURCES mlp.cpp [FLAGS --target=... --mcpu=...])
#     builds the generator `mlp-gen` from the model source, runs it to produce
#     mlp/mlp.o and mlp/mlp.h (plus mlp/mlp.mlir: the forward and generated
#     backward IR), and wraps the object as the static library `mlp_model`
#     whose include directory holds mlp.h.
#   kiln_add_trainer(mlp)
#     links `mlp-train`: the runtime's trainer driving the compiled model.

function(kiln_add_model)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;FLAGS" ${ARGN})
  set(name ${ARG_NAME})
  add_executable(${name}-gen ${ARG_SOURCES})
  target_link_libraries(${name}-gen PRIVATE kiln_generator_main)
  target_compile_options(${name}-gen PRIVATE -fexceptions)
  # Generators sit beside kilnc so lit tests can run them.
  set_target_properties(${name}-gen PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)

  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name})
  add_custom_command(
    OUTPUT ${out}/${name}.o ${out}/${name}.h ${out}/${name}.mlir
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${name}-gen --emit=obj -o ${out}/${name}.o ${ARG_FLAGS}
    COMMAND ${name}-gen --emit=mlir -o ${out}/${name}.mlir
    DEPENDS ${name}-gen
    COMMENT "kiln: compiling model ${name}"
    VERBATIM)
  add_library(${name}_model STATIC ${out}/${name}.o ${out}/${name}.h)
  set_target_properties(${name}_model PROPERTIES LINKER_LANGUAGE C)
  target_include_directories(${name}_model INTERFACE ${out})
endfunction()

function(kiln_add_trainer name)
  set(main ${CMAKE_CURRENT_BINARY_DIR}/${name}/${name}_train_main.cpp)
  file(WRITE ${main}.in
    "#include \"${name}.h\"\n"
    "#include \"kiln/runtime/trainer.h\"\n\n"
    "int main(int argc, char **argv) {\n"
    "  return kiln_train_main(${name}_model_info(), argc, argv);\n"
    "}\n")
  configure_file(${main}.in ${main} COPYONLY)
  add_executable(${name}-train ${main})
  target_link_libraries(${name}-train PRIVATE ${name}_model kiln_runtime)
endfunction()
