// Procedural assemblies, PDB/mmCIF readers and density maps (Xu et al. 2017).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>

#include "phenoscale/core/error.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/structure.hpp"
#include "test_support.hpp"

using namespace phenoscale::tomo;
using phenoscale::InputError;
using phenoscale::testing::message_of;

namespace {
constexpr double pi = 3.14159265358979323846;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Columns per the PDB format: 31-38 x, 39-46 y, 47-54 z, 77-78 element.
const char* kPdb =
    "HEADER    TEST\n"
    "ATOM      1  N   ALA A   1      11.000  12.000  13.000  1.00  0.00           N\n"
    "ATOM      2  CA AALA A   1      10.000   0.000   0.000  0.60  0.00           C\n"
    "ATOM      3  CA BALA A   1      99.000  99.000  99.000  0.40  0.00           C\n"
    "ATOM      4  O   ALA B   2       0.000  10.000   0.000  1.00  0.00\n"
    "HETATM    5 FE   HEM B   3       0.000   0.000  10.000  1.00  0.00          FE\n"
    "ENDMDL\n"
    "ATOM      6  C   ALA A   1       5.000   5.000   5.000  1.00  0.00           C\n";

class StructureFiles : public phenoscale::testing::TempDirTest {};
}  // namespace

TEST(Procedural, TwentyTwoDistinctDeterministicClassesOfFiveToThirtyNm) {
  std::set<std::string> names;
  std::set<long> masses;
  for (int c = 0; c < procedural_class_count; ++c) {
    const Structure s = procedural_structure(42, c);
    names.insert(procedural_class_name(c));
    masses.insert(std::lround(s.total_mass_da()));
    const double diameter_nm = 2 * s.radius_nm() + 0.5;  // atom centres + half a residue
    EXPECT_GE(diameter_nm, 5.0) << procedural_class_name(c);
    EXPECT_LE(diameter_nm, 30.0) << procedural_class_name(c);
    // Same (seed, class) → identical atoms; another seed → another structure.
    const Structure again = procedural_structure(42, c);
    ASSERT_EQ(again.atoms.size(), s.atoms.size());
    EXPECT_EQ(again.atoms[7].position_nm, s.atoms[7].position_nm);
    const Structure other = procedural_structure(43, c);
    EXPECT_TRUE(other.atoms.size() != s.atoms.size() || other.atoms[7].position_nm != s.atoms[7].position_nm);
  }
  EXPECT_EQ(names.size(), 22u);
  EXPECT_EQ(masses.size(), 22u);
  EXPECT_TRUE(procedural_structure(42, empty_class_id).atoms.empty());
  EXPECT_EQ(procedural_class_name(empty_class_id), "empty");
  EXPECT_THROW(procedural_structure(42, 23), phenoscale::Error);
}

TEST(DensityMap, IntegralIsTheTotalMassAndCentreOfMassIsTheBoxCentre) {
  const Structure s = procedural_structure(5, 17);  // cluster_5, asymmetric
  const int n = 40;
  const double voxel_nm = 0.92;
  const Volume map = density_map(s, n, voxel_nm, 1.2);
  double integral = 0, cx = 0, cy = 0, cz = 0;
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        const double m = map.at(x, y, z) * std::pow(voxel_nm, 3);
        integral += m;
        cx += m * x;
        cy += m * y;
        cz += m * z;
      }
  // Sampling a Gaussian of σ = 0.65 voxel: relative error of the sum ~1e-3 per atom, averaging out.
  EXPECT_NEAR(integral / s.total_mass_da(), 1.0, 2e-3);
  EXPECT_NEAR(cx / integral, n / 2, 0.02);
  EXPECT_NEAR(cy / integral, n / 2, 0.02);
  EXPECT_NEAR(cz / integral, n / 2, 0.02);
}

TEST(DensityMap, SingleAtomPeakIsTheNormalisedGaussian) {
  Structure s;
  Atom a;
  a.mass_da = 1000.0;
  a.position_nm = {3.0, -2.0, 7.0};  // anywhere: the map centres the centre of mass
  s.atoms.push_back(a);
  const Volume map = density_map(s, 24, 0.5, 2.0);  // σ = 1 nm = 2 voxels
  const double peak = 1000.0 / std::pow(2 * pi, 1.5);  // Da/nm³
  EXPECT_NEAR(map.at(12, 12, 12), peak, 1e-3 * peak);
  EXPECT_NEAR(map.at(14, 12, 12), peak * std::exp(-0.5), 1e-3 * peak);  // 1 nm away = 1σ
}

TEST(DensityMap, RingMapIsInvariantUnderItsSymmetryRotation) {
  for (int c : {2, 3}) {  // ring_c7, ring_c8
    const int order = procedural_symmetry_order(c);
    const Volume map = density_map(procedural_structure(9, c), 40, 0.92, 1.2);
    const double same = correlation(rotate(map, rotation_about_axis({0, 0, 1}, 2 * pi / order)), map);
    const double half = correlation(rotate(map, rotation_about_axis({0, 0, 1}, pi / order)), map);
    EXPECT_GT(same, 0.97) << procedural_class_name(c);
    EXPECT_LT(half, same - 0.1) << procedural_class_name(c);  // not a featureless torus
  }
}

// Every element of a class's point group leaves its map unchanged (rings,
// barrels, dihedral classes), and a particle rotate(map, P) is turned back
// onto the map by g·Pᵀ (left multiplication, as the rotation error assumes)
// but not by Pᵀ·g.
TEST(DensityMap, SymmetryGroupsLeaveTheirMapsUnchangedAndActOnTheLeft) {
  for (int c : {1, 6, 9}) {  // ring_c6, dihedral_d5, barrel_7x4
    const auto group = procedural_symmetry_group(c);
    const int order = procedural_symmetry_order(c);
    EXPECT_EQ(group.size(), static_cast<std::size_t>(c == 6 ? 2 * order : order)) << procedural_class_name(c);
    const Volume map = density_map(procedural_structure(9, c), 40, 0.92, 1.2);
    for (const auto& g : group) EXPECT_GT(correlation(rotate(map, g), map), 0.95) << procedural_class_name(c);
    const Mat3 pose = rotation_about_axis({1, 2, 0.5}, 0.9);
    const Volume particle = rotate(map, pose);
    const Mat3 g = group[1];
    EXPECT_GT(correlation(rotate(particle, multiply(g, transpose(pose))), map), 0.95) << procedural_class_name(c);
    EXPECT_LT(correlation(rotate(particle, multiply(transpose(pose), g)), map), 0.9) << procedural_class_name(c);
    EXPECT_LT(geodesic_distance_modulo_rad(multiply(g, transpose(pose)), transpose(pose), group), 1e-6);
    EXPECT_GT(geodesic_distance_modulo_rad(multiply(transpose(pose), rotation_about_axis({1, 0, 0}, 0.3)),
                                           transpose(pose), group),
              0.29);
  }
  EXPECT_EQ(procedural_symmetry_group(18).size(), 1u);  // cluster_8: the identity alone
  EXPECT_EQ(procedural_symmetry_group(empty_class_id).size(), 1u);
}

// Element columns blank: a four-character hydrogen name starts in column 13
// (HG12 is hydrogen, not mercury), a left-justified CD1 of an ATOM record is
// carbon (not cadmium), and a HETATM's two-letter name is its element.
TEST_F(StructureFiles, PdbElementsFromAtomNamesFollowTheConvention) {
  write_text(file("h.pdb"),
             "ATOM      1 HG12 VAL A   1       0.000   0.000   0.000  1.00  0.00\n"
             "ATOM      2 CD1  LEU A   2       1.000   0.000   0.000  1.00  0.00\n"
             "ATOM      3  CG  LEU A   2       2.000   0.000   0.000  1.00  0.00\n"
             "HETATM    4 ZN    ZN A   3       3.000   0.000   0.000  1.00  0.00\n"
             "HETATM    5 HG   HG  A   4       4.000   0.000   0.000  1.00  0.00\n"
             "ATOM      6 ZN    ZN A   5       5.000   0.000   0.000  1.00  0.00\n");
  const Structure s = read_pdb(file("h.pdb"));
  ASSERT_EQ(s.atoms.size(), 6u);
  EXPECT_EQ(s.atoms[0].element, "H");
  EXPECT_EQ(s.atoms[1].element, "C");
  EXPECT_EQ(s.atoms[2].element, "C");
  EXPECT_EQ(s.atoms[3].element, "ZN");
  EXPECT_EQ(s.atoms[4].element, "HG");  // a mercury ion: HETATM, a two-character name
  EXPECT_EQ(s.atoms[5].element, "ZN");  // an ion written as ATOM: no element Z
}

TEST_F(StructureFiles, PdbFirstModelAltLocAElementsAndChains) {
  write_text(file("t.pdb"), kPdb);
  const Structure s = read_pdb(file("t.pdb"));
  ASSERT_EQ(s.atoms.size(), 4u);  // altloc B and model 2 dropped
  EXPECT_NEAR(s.atoms[0].position_nm[0], 1.1, 1e-12);  // Å → nm
  EXPECT_NEAR(s.atoms[0].position_nm[2], 1.3, 1e-12);
  EXPECT_NEAR(s.atoms[1].position_nm[0], 1.0, 1e-12);  // altloc A kept
  EXPECT_EQ(s.atoms[2].element, "O");                  // from the atom name
  EXPECT_EQ(s.atoms[3].element, "FE");
  EXPECT_EQ(s.atoms[3].chain, "B");
  EXPECT_NEAR(s.total_mass_da(), 14.007 + 12.011 + 15.999 + 55.845, 1e-9);
  // gzip is read transparently.
  ASSERT_EQ(std::system(("gzip -k " + file("t.pdb")).c_str()), 0);
  EXPECT_EQ(read_structure(file("t.pdb.gz")).atoms.size(), 4u);
}

TEST_F(StructureFiles, MmcifAtomSiteLoop) {
  write_text(file("t.cif"),
             "data_test\n#\nloop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.type_symbol\n"
             "_atom_site.label_atom_id\n_atom_site.label_alt_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n"
             "_atom_site.Cartn_z\n_atom_site.auth_asym_id\n_atom_site.pdbx_PDB_model_num\n"
             "ATOM 1 N N . 10.0 0.0 0.0 A 1\n"
             "ATOM 2 C \"CA\" A 0.0 20.0 0.0 A 1\n"
             "ATOM 3 C \"CA\" B 0.0 99.0 0.0 A 1\n"
             "HETATM 4 Zn ZN . 0.0 0.0 30.0 C 1\n"
             "ATOM 5 C C . 1.0 1.0 1.0 A 2\n#\n");
  const Structure s = read_structure(file("t.cif"));
  ASSERT_EQ(s.atoms.size(), 3u);
  EXPECT_NEAR(s.atoms[1].position_nm[1], 2.0, 1e-12);
  EXPECT_EQ(s.atoms[2].element, "ZN");
  EXPECT_EQ(s.atoms[2].chain, "C");
  EXPECT_NEAR(s.atoms[2].mass_da, 65.38, 1e-9);
}

TEST_F(StructureFiles, ErrorsNameFileLineExpectedAndFound) {
  write_text(file("empty.pdb"), "HEADER    NOTHING\nEND\n");
  const std::string none = message_of<InputError>([&] { read_pdb(file("empty.pdb")); });
  EXPECT_NE(none.find("empty.pdb"), std::string::npos);
  EXPECT_NE(none.find("PDB with no atoms"), std::string::npos);
  write_text(file("bad.pdb"), "ATOM      1  N   ALA A   1      11.000  xx.000  13.000  1.00  0.00           N\n");
  const std::string bad = message_of<InputError>([&] { read_pdb(file("bad.pdb")); });
  EXPECT_NE(bad.find("bad.pdb"), std::string::npos);
  EXPECT_NE(bad.find("line 1"), std::string::npos);
  EXPECT_NE(bad.find("columns 39-46"), std::string::npos);
  EXPECT_NE(bad.find("'xx.000'"), std::string::npos);
  write_text(file("elem.pdb"), "ATOM      1  X   ALA A   1      11.000  12.000  13.000  1.00  0.00          QQ\n");
  EXPECT_NE(message_of<InputError>([&] { read_pdb(file("elem.pdb")); }).find("found 'QQ'"), std::string::npos);
  EXPECT_NE(message_of<InputError>([&] { read_pdb(file("missing.pdb")); }).find("cannot open"), std::string::npos);
}
