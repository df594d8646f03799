// Macromolecular structures and their density maps (Xu et al. 2017, §3.1).
//
// The paper simulates subtomograms from 22 PDB complexes. Real PDB files
// cannot be fetched on our machines, so `procedural.hpp` generates
// pseudo-atomic assemblies, and the readers here load PDB or mmCIF files that
// users bring (plain or gzip). A density map is the sum over atoms of
// mass-weighted normalised Gaussians with σ = resolution/2 (the "2σ = r"
// convention of Situs pdb2vol), in Da/nm³, so that Σ map · voxel³ equals
// the mass of the atoms inside the box.
#pragma once

#include <string>
#include <vector>

#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

struct Atom {
  Vec3 position_nm{0, 0, 0};
  double mass_da = 0.0;
  std::string element;  // "C", "FE", ... (upper case)
  std::string chain;
};

struct Structure {
  std::string name;
  std::vector<Atom> atoms;

  double total_mass_da() const;
  Vec3 centre_of_mass_nm() const;  // (0,0,0) when empty
  // Largest distance of an atom centre from the centre of mass.
  double radius_nm() const;
};

// Standard atomic mass (Da) of an element symbol (case-insensitive); 0 if unknown.
double element_mass_da(const std::string& element);

// PDB format: ATOM/HETATM records of the first model, alternate locations
// ' ' or 'A' kept, element from columns 77–78 or else the atom name.
// Å in the file, nm in memory. Gzip files are read transparently. Errors
// name file, line, expected and found; a file without atoms is an error.
Structure read_pdb(const std::string& path);
// mmCIF: the _atom_site loop (first model; label_alt_id '.', '?' or 'A').
Structure read_mmcif(const std::string& path);
// By extension: .cif/.mmcif (optionally .gz) → mmCIF, anything else → PDB.
Structure read_structure(const std::string& path);

// Density map on an n³ grid: Σ m_a N(x; x_a − com + c, σ²) with σ =
// resolution_nm/2, the structure's centre of mass at the box centre voxel
// n/2. Kernels are cut at 4σ. OpenMP over z planes (thread-count independent).
Volume density_map(const Structure& s, int n, double voxel_nm, double resolution_nm);

// A copy rotated by `r` about its centre of mass.
Structure rotated(const Structure& s, const Mat3& r);

}  // namespace phenoscale::tomo
