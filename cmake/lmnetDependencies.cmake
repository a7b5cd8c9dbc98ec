# lmnet's one dependency, xsimd (headers only). Shared by the build and the installed package.
include(CMakeFindDependencyMacro)
if(NOT TARGET xsimd)
  find_package(xtl QUIET)
  find_dependency(xsimd)
endif()
# Debian's xsimd 8 package links a target `xtl` that it does not provide (xtl-dev is a separate
# package); xsimd's headers do not need it, so drop the link when xtl is absent.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_lmnet_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_lmnet_xsimd_links STREQUAL "xtl")
    set_property(TARGET xsimd PROPERTY INTERFACE_LINK_LIBRARIES "")
  endif()
endif()
