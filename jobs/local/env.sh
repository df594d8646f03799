# Sourced by the local job scripts: OpenMPI settings for workstations and
# containers, and ccache for the build.
#  - OpenMPI refuses to run as root unless told (containers, CI);
#  - vader's CMA single-copy needs ptrace rights that containers lack;
#  - oversubscription lets the tests run 3 ranks on a 2-core machine.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1
export HDF5_USE_FILE_LOCKING=FALSE
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}   # cache hits across clones
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export CCACHE_NOHASHDIR=1
JOBS=${JOBS:-$(nproc)}
