// Structures, PDB/mmCIF readers and density maps (see include/phenoscale/tomo/structure.hpp).
#include "phenoscale/tomo/structure.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>

#include "phenoscale/core/error.hpp"

namespace phenoscale::tomo {

double Structure::total_mass_da() const {
  double m = 0;
  for (const auto& a : atoms) m += a.mass_da;
  return m;
}

Vec3 Structure::centre_of_mass_nm() const {
  Vec3 c{0, 0, 0};
  double m = 0;
  for (const auto& a : atoms) {
    for (int k = 0; k < 3; ++k) c[k] += a.mass_da * a.position_nm[k];
    m += a.mass_da;
  }
  if (m > 0)
    for (auto& x : c) x /= m;
  return c;
}

double Structure::radius_nm() const {
  const Vec3 c = centre_of_mass_nm();
  double r2 = 0;
  for (const auto& a : atoms) {
    double d2 = 0;
    for (int k = 0; k < 3; ++k) d2 += (a.position_nm[k] - c[k]) * (a.position_nm[k] - c[k]);
    r2 = std::max(r2, d2);
  }
  return std::sqrt(r2);
}

double element_mass_da(const std::string& element) {
  static const std::map<std::string, double> masses = {
      {"H", 1.008},   {"D", 2.014},   {"C", 12.011},  {"N", 14.007},  {"O", 15.999},  {"F", 18.998},
      {"NA", 22.990}, {"MG", 24.305}, {"P", 30.974},  {"S", 32.06},   {"CL", 35.45},  {"K", 39.098},
      {"CA", 40.078}, {"MN", 54.938}, {"FE", 55.845}, {"CO", 58.933}, {"NI", 58.693}, {"CU", 63.546},
      {"ZN", 65.38},  {"SE", 78.971}, {"BR", 79.904}, {"I", 126.904}, {"CD", 112.414}, {"HG", 200.592},
      {"W", 183.84},  {"PT", 195.084}, {"AU", 196.967}, {"U", 238.029}};
  std::string key;
  for (char c : element)
    if (!std::isspace(static_cast<unsigned char>(c))) key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto it = masses.find(key);
  return it == masses.end() ? 0.0 : it->second;
}

namespace {

// All lines of a text file, gzip or plain (zlib reads both).
std::vector<std::string> read_lines(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw InputError(at_file(path, "cannot open structure file (expected a readable PDB or mmCIF file)"));
  std::vector<std::string> lines;
  std::string current;
  char buffer[4096];
  while (gzgets(f.get(), buffer, sizeof buffer)) {
    current += buffer;
    if (!current.empty() && current.back() == '\n') {
      current.pop_back();
      if (!current.empty() && current.back() == '\r') current.pop_back();
      lines.push_back(std::move(current));
      current.clear();
    }
  }
  int err = 0;
  gzerror(f.get(), &err);
  if (err != Z_OK && err != Z_STREAM_END)
    throw InputError(at_file(path, "corrupt gzip stream after line " + std::to_string(lines.size())));
  if (!current.empty()) lines.push_back(current);
  return lines;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string columns(const std::string& line, std::size_t first, std::size_t last) {  // 1-based, inclusive
  if (line.size() < first) return "";
  return line.substr(first - 1, std::min(line.size(), last) - (first - 1));
}

double parse_number(const std::string& text, const std::string& path, std::size_t line_no, const std::string& what) {
  const std::string t = trim(text);
  try {
    std::size_t used = 0;
    const double v = std::stod(t, &used);
    if (used == t.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw InputError(at_file(path, "line " + std::to_string(line_no) + ": expected a number for " + what +
                                     ", found '" + t + "'"));
}

// Element from the atom name when columns 77–78 are blank: a name starting
// in column 13 is a two-letter element (FE, ZN), one starting in column 14
// a one-letter element (C, N, O) — the PDB convention, whose exception is a
// four-character hydrogen name, which starts in column 13 too (HG12 of
// valine is hydrogen, not mercury). ATOM records are standard residues,
// made of one-letter elements (C, N, O, S, H, P): in an ATOM record a
// two-letter element is read only when the first letter is none (an ion
// written as ATOM: ZN, MG), so a left-justified CD1 is carbon, not cadmium.
std::string element_from_name(const std::string& name_field, bool hetatm) {
  std::string one;
  for (char c : name_field)
    if (std::isalpha(static_cast<unsigned char>(c))) {
      one = std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      break;
    }
  const bool four_char_hydrogen = name_field.size() == 4 && name_field[3] != ' ' &&
                                  std::toupper(static_cast<unsigned char>(name_field[0])) == 'H';
  const bool two_letter_start = name_field.size() >= 2 && std::isalpha(static_cast<unsigned char>(name_field[0])) &&
                                std::isalpha(static_cast<unsigned char>(name_field[1]));
  if (!four_char_hydrogen && two_letter_start && (hetatm || element_mass_da(one) <= 0)) {
    std::string two = name_field.substr(0, 2);
    for (auto& ch : two) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (element_mass_da(two) > 0) return two;
  }
  return one;
}

Atom make_atom(const std::string& element, const Vec3& xyz_angstrom, const std::string& chain, const std::string& path,
               std::size_t line_no) {
  Atom a;
  a.element = element;
  std::transform(a.element.begin(), a.element.end(), a.element.begin(), [](unsigned char c) { return std::toupper(c); });
  a.mass_da = element_mass_da(a.element);
  if (a.mass_da <= 0)
    throw InputError(at_file(path, "line " + std::to_string(line_no) + ": expected a known element symbol, found '" +
                                       element + "'"));
  for (int k = 0; k < 3; ++k) a.position_nm[k] = xyz_angstrom[k] * 0.1;
  a.chain = chain;
  return a;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Whitespace-separated mmCIF tokens with '...' / "..." quoting.
std::vector<std::string> cif_tokens(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size()) break;
    if (line[i] == '\'' || line[i] == '"') {
      const char q = line[i];
      std::size_t j = i + 1;
      // A closing quote counts only when followed by whitespace or the end.
      while (j < line.size() && !(line[j] == q && (j + 1 == line.size() || std::isspace(static_cast<unsigned char>(line[j + 1])))))
        ++j;
      out.push_back(line.substr(i + 1, j - i - 1));
      i = j + 1;
    } else {
      std::size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
      out.push_back(line.substr(i, j - i));
      i = j;
    }
  }
  return out;
}

}  // namespace

Structure read_pdb(const std::string& path) {
  const auto lines = read_lines(path);
  Structure s;
  s.name = base_name(path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::size_t line_no = i + 1;
    const std::string record = columns(line, 1, 6);
    if (record.rfind("ENDMDL", 0) == 0) break;  // first model only
    if (record != "ATOM  " && record != "HETATM") continue;
    if (line.size() < 54)
      throw InputError(at_file(path, "line " + std::to_string(line_no) + ": expected an " + trim(record) +
                                         " record of at least 54 columns (x, y, z in 31-54), found " +
                                         std::to_string(line.size())));
    const char alt = line.size() >= 17 ? line[16] : ' ';
    if (alt != ' ' && alt != 'A') continue;
    const Vec3 xyz{parse_number(columns(line, 31, 38), path, line_no, "x (columns 31-38)"),
                   parse_number(columns(line, 39, 46), path, line_no, "y (columns 39-46)"),
                   parse_number(columns(line, 47, 54), path, line_no, "z (columns 47-54)")};
    std::string element = trim(columns(line, 77, 78));
    if (element.empty()) element = element_from_name(columns(line, 13, 16), record == "HETATM");
    s.atoms.push_back(make_atom(element, xyz, trim(columns(line, 22, 22)), path, line_no));
  }
  if (s.atoms.empty()) throw InputError(at_file(path, "PDB with no atoms (expected ATOM or HETATM records)"));
  return s;
}

Structure read_mmcif(const std::string& path) {
  const auto lines = read_lines(path);
  Structure s;
  s.name = base_name(path);
  std::size_t i = 0;
  // Find the loop whose first tag is _atom_site.*
  while (i < lines.size()) {
    if (trim(lines[i]) == "loop_" && i + 1 < lines.size() && trim(lines[i + 1]).rfind("_atom_site.", 0) == 0) break;
    ++i;
  }
  if (i >= lines.size()) throw InputError(at_file(path, "mmCIF with no atoms (expected a loop_ of _atom_site. tags)"));
  ++i;
  std::vector<std::string> tags;
  while (i < lines.size() && trim(lines[i]).rfind("_atom_site.", 0) == 0) tags.push_back(trim(lines[i++]).substr(11));
  const auto column = [&](const std::string& name) -> int {
    const auto it = std::find(tags.begin(), tags.end(), name);
    return it == tags.end() ? -1 : static_cast<int>(it - tags.begin());
  };
  const int cx = column("Cartn_x"), cy = column("Cartn_y"), cz = column("Cartn_z");
  const int ce = column("type_symbol"), calt = column("label_alt_id"), cmodel = column("pdbx_PDB_model_num");
  int cchain = column("auth_asym_id");
  if (cchain < 0) cchain = column("label_asym_id");
  if (cx < 0 || cy < 0 || cz < 0 || ce < 0)
    throw InputError(at_file(path, "expected _atom_site.Cartn_x, Cartn_y, Cartn_z and type_symbol tags, found " +
                                       std::to_string(tags.size()) + " tags without them"));
  std::vector<std::string> row;
  std::string first_model;
  std::size_t row_line = i + 1;
  for (; i < lines.size(); ++i) {
    const std::string t = trim(lines[i]);
    if (t.empty()) continue;
    if (t[0] == '#' || t[0] == '_' || t == "loop_" || t.rfind("data_", 0) == 0) break;
    if (row.empty()) row_line = i + 1;
    for (auto& tok : cif_tokens(t)) row.push_back(std::move(tok));
    if (row.size() < tags.size()) continue;  // a row may continue on the next line
    if (row.size() > tags.size())
      throw InputError(at_file(path, "line " + std::to_string(row_line) + ": expected " + std::to_string(tags.size()) +
                                         " _atom_site values, found " + std::to_string(row.size())));
    if (cmodel >= 0) {
      if (first_model.empty()) first_model = row[cmodel];
      if (row[cmodel] != first_model) {  // first model only
        row.clear();
        break;
      }
    }
    const std::string alt = calt >= 0 ? row[calt] : ".";
    if (alt == "." || alt == "?" || alt == "A") {
      const Vec3 xyz{parse_number(row[cx], path, row_line, "Cartn_x"), parse_number(row[cy], path, row_line, "Cartn_y"),
                     parse_number(row[cz], path, row_line, "Cartn_z")};
      s.atoms.push_back(make_atom(row[ce], xyz, cchain >= 0 ? row[cchain] : "", path, row_line));
    }
    row.clear();
  }
  if (!row.empty())
    throw InputError(at_file(path, "line " + std::to_string(row_line) + ": expected " + std::to_string(tags.size()) +
                                       " _atom_site values, found " + std::to_string(row.size())));
  if (s.atoms.empty()) throw InputError(at_file(path, "mmCIF with no atoms (the _atom_site loop is empty)"));
  return s;
}

Structure read_structure(const std::string& path) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  if (p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0) p.resize(p.size() - 3);
  const auto ends = [&](const std::string& ext) { return p.size() >= ext.size() && p.compare(p.size() - ext.size(), ext.size(), ext) == 0; };
  return (ends(".cif") || ends(".mmcif")) ? read_mmcif(path) : read_pdb(path);
}

Structure rotated(const Structure& s, const Mat3& r) {
  Structure out = s;
  const Vec3 c = s.centre_of_mass_nm();
  for (auto& a : out.atoms) {
    const Vec3 d = rotate_vector(r, {a.position_nm[0] - c[0], a.position_nm[1] - c[1], a.position_nm[2] - c[2]});
    for (int k = 0; k < 3; ++k) a.position_nm[k] = c[k] + d[k];
  }
  return out;
}

Volume density_map(const Structure& s, int n, double voxel_nm, double resolution_nm) {
  if (!(resolution_nm > 0) || !(voxel_nm > 0))
    throw Error("tomo::density_map: expected resolution_nm > 0 and voxel_nm > 0, found " + std::to_string(resolution_nm) +
                " and " + std::to_string(voxel_nm));
  Volume map = Volume::cube(n, voxel_nm);
  const double sigma_vox = resolution_nm / 2.0 / voxel_nm;
  const double pi = 3.14159265358979323846;
  const double norm = 1.0 / std::pow(2.0 * pi * resolution_nm * resolution_nm / 4.0, 1.5);  // per nm³
  const int reach = static_cast<int>(std::ceil(4.0 * sigma_vox));
  const Vec3 com = s.centre_of_mass_nm();
  const double c = n / 2;
  // Atom centres in voxel coordinates.
  std::vector<Vec3> centres(s.atoms.size());
  for (std::size_t a = 0; a < s.atoms.size(); ++a)
    for (int k = 0; k < 3; ++k) centres[a][k] = (s.atoms[a].position_nm[k] - com[k]) / voxel_nm + c;
  const double inv2s2 = 1.0 / (2.0 * sigma_vox * sigma_vox);
  // Each thread owns whole z planes and adds atoms in file order: the sums,
  // and so the map, do not depend on the thread count.
#pragma omp parallel for schedule(dynamic)
  for (int z = 0; z < n; ++z) {
    for (std::size_t a = 0; a < centres.size(); ++a) {
      const Vec3& p = centres[a];
      if (std::abs(z - p[2]) > reach) continue;
      const double wz = std::exp(-(z - p[2]) * (z - p[2]) * inv2s2);
      const double m = s.atoms[a].mass_da * norm;
      const int y0 = std::max(0, static_cast<int>(std::floor(p[1])) - reach), y1 = std::min(n - 1, static_cast<int>(std::floor(p[1])) + reach + 1);
      const int x0 = std::max(0, static_cast<int>(std::floor(p[0])) - reach), x1 = std::min(n - 1, static_cast<int>(std::floor(p[0])) + reach + 1);
      for (int y = y0; y <= y1; ++y) {
        const double wy = wz * std::exp(-(y - p[1]) * (y - p[1]) * inv2s2);
        for (int x = x0; x <= x1; ++x)
          map.at(x, y, z) += static_cast<float>(m * wy * std::exp(-(x - p[0]) * (x - p[0]) * inv2s2));
      }
    }
  }
  return map;
}

}  // namespace phenoscale::tomo
