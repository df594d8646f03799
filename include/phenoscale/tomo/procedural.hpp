// Procedural macromolecule-like assemblies standing in for the paper's 22 PDB
// complexes (Xu et al. 2017, §3.1.1).
//
// Each class is a pseudo-atomic assembly (one pseudo-atom of 110 Da per
// residue at protein density 0.81 Da/Å³) with a distinct shape: C_n rings,
// D_n double rings, stacked-ring barrels, helical filament stubs and
// asymmetric globular clusters, 5–30 nm across. Symmetric classes are exact
// copies of one random subunit under their point group, so their maps carry
// the symmetry. Everything is a pure function of (seed, class id) through
// core::Rng(seed, Stream::structure, class id): the same seed gives the same
// 22 structures on every rank and every run. Class `empty_class_id` is the
// paper's 23rd class, "no particle".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/tomo/structure.hpp"

namespace phenoscale::tomo {

constexpr int procedural_class_count = 22;
constexpr int empty_class_id = procedural_class_count;  // class 22: no particle
constexpr int class_count_with_empty = procedural_class_count + 1;

// Short descriptive name, e.g. "ring_c7", "barrel_7x4", "cluster_12", "empty".
std::string procedural_class_name(int class_id);
// The order of rotational symmetry about z (n of C_n or D_n; 1 if none).
int procedural_symmetry_order(int class_id);
// The point group of class `class_id`'s map as rotations g with
// rotate(map, g) = map: C_n about z for rings and barrels, D_n (C_n and the
// two-fold about x) for dihedral classes, the identity alone otherwise
// (a filament's helical screw symmetry is only approximate in the short
// segment built here, so filaments count as asymmetric).
std::vector<Mat3> procedural_symmetry_group(int class_id);
// The assembly of class `class_id` in [0, 22] for this seed (22: no atoms).
Structure procedural_structure(std::uint64_t seed, int class_id);

}  // namespace phenoscale::tomo
