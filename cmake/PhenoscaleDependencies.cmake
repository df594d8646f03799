# Finds every third-party component of phenoscale and fails with a clear
# message (and the Debian package to install) when one is missing or wrong.

find_package(MPI REQUIRED COMPONENTS C CXX)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)

# --- parallel HDF5 ----------------------------------------------------------
# Debian installs serial and MPI builds side by side; prefer the MPI one.
set(HDF5_PREFER_PARALLEL TRUE)
if(EXISTS /usr/lib/x86_64-linux-gnu/hdf5/openmpi AND NOT HDF5_ROOT)
  set(HDF5_C_COMPILER_EXECUTABLE /usr/bin/h5pcc.openmpi CACHE FILEPATH "HDF5 MPI compiler wrapper")
endif()
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR
    "phenoscale needs a parallel (MPI-IO) HDF5, but the HDF5 found at "
    "'${HDF5_INCLUDE_DIRS}' is serial. Install libhdf5-openmpi-dev "
    "(jobs/local/setup.sh) or point HDF5_ROOT at a parallel build.")
endif()
add_library(phenoscale_hdf5 INTERFACE)
target_include_directories(phenoscale_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(phenoscale_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(phenoscale_hdf5 INTERFACE ${HDF5_DEFINITIONS} H5_USE_110_API)

# --- LibTorch (nn/ and the pipelines' models) --------------------------------
find_package(Torch REQUIRED)

# --- PETSc (distributed sparse graphs in ml/) via pkg-config -------------------
find_package(PkgConfig REQUIRED)
file(GLOB _petsc_pc_dirs /usr/lib/petscdir/petsc*/x86_64-linux-gnu-real/lib/pkgconfig)
if(_petsc_pc_dirs)
  set(ENV{PKG_CONFIG_PATH} "$ENV{PKG_CONFIG_PATH}:${_petsc_pc_dirs}")
endif()
if(DEFINED ENV{PETSC_DIR})
  set(ENV{PKG_CONFIG_PATH} "$ENV{PKG_CONFIG_PATH}:$ENV{PETSC_DIR}/$ENV{PETSC_ARCH}/lib/pkgconfig:$ENV{PETSC_DIR}/lib/pkgconfig")
endif()
pkg_check_modules(PETSC REQUIRED IMPORTED_TARGET PETSc)
# SLEPc (eigensolvers on PETSc matrices: the spectral methods of ml/spectral).
# Debian's slepc-dev installs slepc.pc next to PETSc.pc; a source build sits
# under $SLEPC_DIR.
file(GLOB _slepc_pc_dirs /usr/lib/slepcdir/slepc*/x86_64-linux-gnu-real/lib/pkgconfig)
if(_slepc_pc_dirs)
  set(ENV{PKG_CONFIG_PATH} "$ENV{PKG_CONFIG_PATH}:${_slepc_pc_dirs}")
endif()
if(DEFINED ENV{SLEPC_DIR})
  set(ENV{PKG_CONFIG_PATH} "$ENV{PKG_CONFIG_PATH}:$ENV{SLEPC_DIR}/$ENV{PETSC_ARCH}/lib/pkgconfig:$ENV{SLEPC_DIR}/lib/pkgconfig")
endif()
pkg_check_modules(SLEPC IMPORTED_TARGET slepc)
if(NOT SLEPC_FOUND)
  message(FATAL_ERROR "SLEPc (slepc.pc) not found: install the Debian package slepc-dev "
                      "(jobs/local/setup.sh) or set SLEPC_DIR to a SLEPc build matching PETSc ${PETSC_VERSION}.")
endif()

# BLAS through its C interface (cblas.h): the fused recurrent layers' per-step
# products (src/nn/libtorch/fused_rnn.cpp) run on the BLAS LibTorch runs on,
# Debian's libblas.so.3 (Generic: not an OpenBLAS, FlexiBLAS or MKL found
# first, which would put a second BLAS in the process). It is OpenBLAS
# wherever libopenblas0-* is installed (jobs/local/setup.sh), whose kernels
# are chosen for the CPU at run time; 32-bit integers, as cblas.h declares.
set(BLA_VENDOR Generic)
set(BLA_SIZEOF_INTEGER 4)
find_package(BLAS)
if(NOT BLAS_FOUND)
  message(FATAL_ERROR "BLAS (libblas.so) not found: install the Debian packages libblas-dev and "
                      "libopenblas0-openmp (jobs/local/setup.sh).")
endif()

# --- header libraries and small helpers --------------------------------------
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(tomlplusplus 3 REQUIRED)
find_package(CLI11 2 REQUIRED)
find_package(TIFF REQUIRED)
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3f fftw3)
# zlib: gzip-compressed PDB/mmCIF structures and coordinate files (tomo/).
find_package(ZLIB REQUIRED)
# libsvm: the RBF SVM of the tomo RIF-SVM baseline (ml/svm). Debian ships
# neither a CMake config nor a pkg-config file for it.
find_path(LIBSVM_INCLUDE_DIR svm.h PATH_SUFFIXES libsvm)
find_library(LIBSVM_LIBRARY NAMES svm)
if(NOT LIBSVM_INCLUDE_DIR OR NOT LIBSVM_LIBRARY)
  message(FATAL_ERROR "libsvm (svm.h and libsvm.so) not found: install the Debian package libsvm-dev "
                      "(jobs/local/setup.sh) or set LIBSVM_INCLUDE_DIR and LIBSVM_LIBRARY.")
endif()
add_library(phenoscale_libsvm INTERFACE)
target_include_directories(phenoscale_libsvm SYSTEM INTERFACE ${LIBSVM_INCLUDE_DIR})
target_link_libraries(phenoscale_libsvm INTERFACE ${LIBSVM_LIBRARY})
# igraph: the single-rank reference path of community detection (Louvain, Leiden, Infomap).
pkg_check_modules(IGRAPH REQUIRED IMPORTED_TARGET igraph)
if(PHENOSCALE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# --- CUDA / NCCL -------------------------------------------------------------
# The NCCL allreducer needs only the CUDA runtime and NCCL, not a CUDA LibTorch,
# so it is compiled wherever the toolkit is present (AUTO) to keep it honest.
set(PHENOSCALE_HAVE_NCCL OFF)
if(PHENOSCALE_WITH_CUDA OR NOT PHENOSCALE_WITH_NCCL STREQUAL "OFF")
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(PHENOSCALE_HAVE_NCCL ON)
  elseif(PHENOSCALE_WITH_CUDA OR PHENOSCALE_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "PHENOSCALE_WITH_CUDA/NCCL requested but the CUDA toolkit with nccl.h and libnccl "
                        "was not found (looked in /usr/local/cuda; set CUDAToolkit_ROOT).")
  endif()
endif()

# --- ccache -----------------------------------------------------------------
# The LibTorch precompiled header (src/CMakeLists.txt) is cacheable only with
# the pch_defines and time_macros sloppiness flags (ccache manual,
# "Precompiled headers"); without them every translation unit that uses it
# is a miss, and a clean clone spent about 6 of its 7 build minutes
# recompiling nn/ and its tests. include_file_mtime/ctime: in a clean clone
# CMake writes cmake_pch.hxx moments before the header is compiled, and
# ccache does not trust (or store in direct mode) a compile whose include
# files are that new; GCC's .gch is not byte-reproducible, so one such miss
# on the header turns every unit that uses it into a miss (the likely cause
# of one clean clone's 12-minute build, against 80 s with the cache warm).
# The cost: a header edited within the same second as its compile may be
# cached stale — irrelevant to clones.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

