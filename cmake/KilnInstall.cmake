# `cmake --install build --prefix P`: kilnc and kiln-opt, the DSL's and the
# runtime's headers and libraries, and the CMake package that lets another
# project use them (find_package(kiln CONFIG REQUIRED), then kiln_add_model,
# kiln_add_trainer, kiln_add_device_program: docs/first-model.md).
#   P/bin                     kilnc, kiln-opt
#   P/include/kiln/{dsl,runtime,device}
#   P/lib                     the libraries a generator and a trainer link
#   P/lib/cmake/kiln          kilnConfig.cmake, the exported targets (kiln::*),
#                             KilnModel.cmake and the cross toolchain files
#   P/share/kiln/runtime      the C device runtime's sources, which
#                             kiln_add_device_program builds per target
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The exported libraries, and the same names in this build (so KilnModel.cmake
# links kiln::generator_main and kiln::runtime in both).
foreach(target_and_name kiln_dsl:dsl kiln_generator_main:generator_main
        kiln_runtime:runtime kiln_device:device)
  string(REPLACE ":" ";" pair ${target_and_name})
  list(GET pair 0 target)
  list(GET pair 1 name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  add_library(kiln::${name} ALIAS ${target})
endforeach()

# Installed tools find libMLIR/libLLVM where they were linked from.
set_target_properties(kilnc kiln-opt PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS kilnc kiln-opt EXPORT kilnTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kiln_generator_main kiln_memory_budget kiln_dsl KilnDriver KilnTarget
  KilnTransforms KilnConversion KilnDialect kiln_runtime kiln_device
  EXPORT kilnTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY frontends/cpp/include/ runtime/include/ runtime/device/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(KILN_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kiln)
install(EXPORT kilnTargets NAMESPACE kiln:: DESTINATION ${KILN_INSTALL_CMAKE_DIR})
# KilnModel.cmake finds the toolchain files beside itself, as in the source
# tree (cmake/toolchains).
install(FILES cmake/KilnModel.cmake DESTINATION ${KILN_INSTALL_CMAKE_DIR})
install(DIRECTORY cmake/toolchains DESTINATION ${KILN_INSTALL_CMAKE_DIR})
# The device program's sub-build compiles the C device runtime from source
# with the target's toolchain; it includes model_abi.h from ../include, so
# the source tree's layout is kept.
set(KILN_INSTALL_RUNTIME_SOURCE_DIR ${CMAKE_INSTALL_DATADIR}/kiln/runtime)
install(DIRECTORY runtime/device DESTINATION ${KILN_INSTALL_RUNTIME_SOURCE_DIR})
install(FILES runtime/include/kiln/runtime/model_abi.h
  DESTINATION ${KILN_INSTALL_RUNTIME_SOURCE_DIR}/include/kiln/runtime)

configure_package_config_file(cmake/kilnConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/kilnConfig.cmake
  INSTALL_DESTINATION ${KILN_INSTALL_CMAKE_DIR}
  PATH_VARS KILN_INSTALL_RUNTIME_SOURCE_DIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/kilnConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kilnConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/kilnConfigVersion.cmake
  DESTINATION ${KILN_INSTALL_CMAKE_DIR})
