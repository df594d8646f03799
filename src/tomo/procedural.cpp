// Procedural assemblies (see include/phenoscale/tomo/procedural.hpp).
#include "phenoscale/tomo/procedural.hpp"

#include <cmath>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"

namespace phenoscale::tomo {

namespace {

constexpr double pi = 3.14159265358979323846;
constexpr double residue_mass_da = 110.0;
// Protein density 0.81 Da/Å³ = 810 Da/nm³ → pseudo-atoms per nm³.
constexpr double residues_per_nm3 = 810.0 / residue_mass_da;

using Atoms = std::vector<Atom>;

enum class Kind { ring, dihedral, barrel, filament, cluster };

struct ClassSpec {
  const char* name;
  Kind kind;
  int order;              // n of C_n/D_n, subunits per ring, helix subunits, cluster members
  double radius_nm;       // ring / helix radius, or cluster radius
  double subunit_nm;      // subunit radius
  int rings = 1;          // barrels
  double spacing_nm = 0;  // ring spacing (barrels, dihedral), helical rise
  double twist_deg = 0;   // helical twist
};

// 22 classes spanning 5–30 nm and five shape families.
const ClassSpec kClasses[procedural_class_count] = {
    {"ring_c5", Kind::ring, 5, 3.5, 1.8},
    {"ring_c6", Kind::ring, 6, 5.0, 2.0},
    {"ring_c7", Kind::ring, 7, 6.0, 2.2},
    {"ring_c8", Kind::ring, 8, 7.5, 2.4},
    {"ring_c9", Kind::ring, 9, 9.0, 2.5},
    {"dihedral_d3", Kind::dihedral, 3, 3.5, 2.0, 2, 4.0},
    {"dihedral_d5", Kind::dihedral, 5, 5.5, 2.2, 2, 4.5},
    {"dihedral_d6", Kind::dihedral, 6, 7.0, 2.4, 2, 5.0},
    {"dihedral_d7", Kind::dihedral, 7, 8.5, 2.6, 2, 5.5},
    {"barrel_7x4", Kind::barrel, 7, 5.5, 2.2, 4, 3.8},
    {"barrel_6x3", Kind::barrel, 6, 5.0, 2.0, 3, 4.0},
    {"barrel_8x4", Kind::barrel, 8, 7.0, 2.4, 4, 4.2},
    {"barrel_12x2", Kind::barrel, 12, 10.0, 2.5, 2, 5.0},
    {"filament_actin_like", Kind::filament, 9, 1.0, 2.3, 1, 2.75, -166.6},
    {"filament_tube", Kind::filament, 24, 6.0, 2.0, 1, 0.9, 27.7},
    {"filament_rod", Kind::filament, 6, 0.0, 2.0, 1, 4.0, 0.0},
    {"cluster_3", Kind::cluster, 3, 3.0, 2.2},
    {"cluster_5", Kind::cluster, 5, 5.0, 2.4},
    {"cluster_8", Kind::cluster, 8, 7.0, 2.5},
    {"cluster_12", Kind::cluster, 12, 9.0, 2.6},
    {"cluster_18", Kind::cluster, 18, 10.0, 2.7},
    {"cluster_26", Kind::cluster, 26, 10.5, 2.8},
};

const ClassSpec& spec(int class_id) {
  if (class_id < 0 || class_id >= procedural_class_count)
    throw Error("tomo::procedural: class id expected in [0, " + std::to_string(procedural_class_count - 1) +
                "], found " + std::to_string(class_id));
  return kClasses[class_id];
}

Atom residue(const Vec3& p) {
  Atom a;
  a.position_nm = p;
  a.mass_da = residue_mass_da;
  a.element = "C";  // pseudo-atom; only its mass matters for the map
  return a;
}

// One asymmetric subunit: 1–3 overlapping ellipsoidal domains within
// `radius_nm` of the origin, filled with residues at protein density.
Atoms subunit(core::Rng& rng, double radius_nm) {
  Atoms atoms;
  const int domains = 1 + static_cast<int>(rng.below(3));
  for (int d = 0; d < domains; ++d) {
    const double r = radius_nm * (d == 0 ? 0.85 : rng.uniform(0.45, 0.7));
    const Vec3 axes{r * rng.uniform(0.8, 1.2), r * rng.uniform(0.7, 1.1), r * rng.uniform(0.6, 1.0)};
    Vec3 centre{0, 0, 0};
    if (d > 0)
      for (auto& c : centre) c = rng.uniform(-0.5, 0.5) * radius_nm;
    const int count = static_cast<int>(4.0 / 3.0 * pi * axes[0] * axes[1] * axes[2] * residues_per_nm3);
    for (int i = 0; i < count;) {  // rejection sampling inside the ellipsoid
      const Vec3 u{rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)};
      if (u[0] * u[0] + u[1] * u[1] + u[2] * u[2] > 1) continue;
      atoms.push_back(residue({centre[0] + u[0] * axes[0], centre[1] + u[1] * axes[1], centre[2] + u[2] * axes[2]}));
      ++i;
    }
  }
  return atoms;
}

void add_transformed(Atoms& out, const Atoms& in, const Mat3& r, const Vec3& t) {
  for (const auto& a : in) {
    Atom b = a;
    const Vec3 p = rotate_vector(r, a.position_nm);
    for (int k = 0; k < 3; ++k) b.position_nm[k] = p[k] + t[k];
    out.push_back(b);
  }
}

Mat3 turn_z(double rad) { return rotation_about_axis({0, 0, 1}, rad); }

// C_n ring in the plane z = z0: the subunit at (R, 0, z0) and its n − 1 images about z.
void add_ring(Atoms& out, const Atoms& unit, int n, double radius, double z0, double phase) {
  for (int k = 0; k < n; ++k) {
    const Mat3 r = turn_z(phase + 2 * pi * k / n);
    Atoms placed;
    add_transformed(placed, unit, identity_rotation(), {radius, 0, z0});
    add_transformed(out, placed, r, {0, 0, 0});
  }
}

Structure build(std::uint64_t seed, int class_id) {
  const ClassSpec& c = spec(class_id);
  core::Rng rng(seed, core::Stream::structure, static_cast<std::uint64_t>(class_id));
  Structure s;
  s.name = c.name;
  Atoms& atoms = s.atoms;
  switch (c.kind) {
    case Kind::ring:
      add_ring(atoms, subunit(rng, c.subunit_nm), c.order, c.radius_nm, 0, 0);
      break;
    case Kind::dihedral: {
      // D_n: a C_n ring and its image under the two-fold axis along x.
      Atoms ring;
      add_ring(ring, subunit(rng, c.subunit_nm), c.order, c.radius_nm, c.spacing_nm / 2, 0);
      add_transformed(atoms, ring, identity_rotation(), {0, 0, 0});
      add_transformed(atoms, ring, rotation_about_axis({1, 0, 0}, pi), {0, 0, 0});
      break;
    }
    case Kind::barrel: {
      // Stacked C_n rings (outer and inner subunit types alternate like the
      // proteasome's α and β rings), staggered by half a subunit.
      const Atoms outer = subunit(rng, c.subunit_nm), inner = subunit(rng, c.subunit_nm * 0.95);
      for (int ring = 0; ring < c.rings; ++ring) {
        const bool is_outer = ring == 0 || ring == c.rings - 1;
        const double z = (ring - (c.rings - 1) / 2.0) * c.spacing_nm;
        add_ring(atoms, is_outer ? outer : inner, c.order, c.radius_nm, z, (ring % 2) * pi / c.order);
      }
      break;
    }
    case Kind::filament: {
      // A helical stub: subunit i at angle i·twist, height i·rise (centred).
      const Atoms unit = subunit(rng, c.subunit_nm);
      for (int i = 0; i < c.order; ++i) {
        const double z = (i - (c.order - 1) / 2.0) * c.spacing_nm;
        Atoms placed;
        add_transformed(placed, unit, identity_rotation(), {c.radius_nm, 0, z});
        add_transformed(atoms, placed, turn_z(i * c.twist_deg * pi / 180.0), {0, 0, 0});
      }
      break;
    }
    case Kind::cluster: {
      // Different random subunits packed loosely inside a sphere: no symmetry.
      std::vector<Vec3> centres;
      for (int i = 0; i < c.order; ++i) {
        Vec3 p{0, 0, 0};
        for (int attempt = 0; attempt < 200; ++attempt) {
          const double r = c.radius_nm * std::cbrt(rng.uniform());
          const Mat3 dir = random_rotation(rng);
          p = rotate_vector(dir, {0, 0, r});
          bool clear = true;
          for (const auto& q : centres) {
            const double d2 = (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]);
            clear = clear && d2 > (1.4 * c.subunit_nm) * (1.4 * c.subunit_nm);
          }
          if (clear) break;
        }
        centres.push_back(p);
        const double radius = c.subunit_nm * rng.uniform(0.7, 1.2);
        add_transformed(atoms, subunit(rng, radius), random_rotation(rng), p);
      }
      break;
    }
  }
  return s;
}

}  // namespace

std::string procedural_class_name(int class_id) {
  if (class_id == empty_class_id) return "empty";
  return spec(class_id).name;
}

int procedural_symmetry_order(int class_id) {
  if (class_id == empty_class_id) return 1;
  const ClassSpec& c = spec(class_id);
  return (c.kind == Kind::ring || c.kind == Kind::dihedral || c.kind == Kind::barrel) ? c.order : 1;
}

std::vector<Mat3> procedural_symmetry_group(int class_id) {
  if (class_id == empty_class_id) return {identity_rotation()};
  const ClassSpec& c = spec(class_id);
  if (c.kind != Kind::ring && c.kind != Kind::dihedral && c.kind != Kind::barrel) return {identity_rotation()};
  std::vector<Mat3> group;
  for (int k = 0; k < c.order; ++k) group.push_back(turn_z(2 * pi * k / c.order));
  if (c.kind == Kind::dihedral) {  // the two-fold along x that build() applies to the ring
    const Mat3 flip = rotation_about_axis({1, 0, 0}, pi);
    for (int k = 0; k < c.order; ++k) group.push_back(multiply(flip, group[static_cast<std::size_t>(k)]));
  }
  return group;
}

Structure procedural_structure(std::uint64_t seed, int class_id) {
  if (class_id == empty_class_id) {
    Structure s;
    s.name = "empty";
    return s;
  }
  return build(seed, class_id);
}

}  // namespace phenoscale::tomo
