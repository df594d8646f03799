#!/usr/bin/env bash
# Installs every Debian 12 package that phenoscale's build, tests, postprocess
# scripts and benchmarks need. Idempotent: packages already present are skipped
# and `apt-get update` runs at most once per invocation (only when something is
# missing). Runs as root or through sudo.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git bc
  # parallel stack
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
  # numerics and ML
  libtorch-dev libopenblas0-openmp libblas-dev petsc-dev slepc-dev libeigen3-dev libfftw3-dev libigraph-dev libsvm-dev
  # helpers
  libtomlplusplus-dev libcli11-dev libtiff-dev zlib1g-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real single-node Slurm for the job-script tests
  slurm-wlm slurmctld slurmd slurm-client munge
  # postprocess (figures, reading our HDF5/MRC outputs)
  python3 python3-numpy python3-h5py python3-matplotlib python3-mrcfile
  # peers the benchmarks and reference tests compare against
  python3-sklearn python3-scipy python3-igraph python3-leidenalg python3-faiss python3-torch python3-pynndescent
  # a standard STAR/CIF parser the tests open our STAR particle files with
  python3-gemmi
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Slurm's and munge's maintainer scripts try to start services; in a container
# without systemd that must not fail the install.
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
