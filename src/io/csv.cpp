#include "phenoscale/io/csv.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <list>
#include <numeric>
#include <optional>
#include <string_view>
#include <utility>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/atomic_file.hpp"

namespace phenoscale::io {
namespace {

// --- text helpers ------------------------------------------------------------

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  std::size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Trims and drops one pair of surrounding double quotes (spreadsheet exports).
std::string_view field_text(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  return s;
}

// The text between a field's quotes with each "" read as one quote.
std::string unescape_quotes(std::string_view inner) {
  std::string out;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    out += inner[i];
    if (inner[i] == '"' && i + 1 < inner.size() && inner[i + 1] == '"') ++i;
  }
  return out;
}

// Splits one line at `sep` and trims each field. A field that begins with a
// double quote runs to its closing quote (RFC 4180 within a line, as pandas
// and spreadsheets write "drug, 10 uM"): separators inside it are text, ""
// is one quote, the quotes are dropped. Unescaped text lives in `escaped`,
// which the views may point into; a quote never closed is plain text (and
// sets `*unclosed`, when given).
std::vector<std::string_view> split(std::string_view line, char sep, std::list<std::string>& escaped,
                                    bool* unclosed = nullptr) {
  std::vector<std::string_view> fields;
  for (std::size_t k = 0;;) {
    std::size_t b = k;
    while (b < line.size() && line[b] != sep && (line[b] == ' ' || line[b] == '\t')) ++b;
    std::size_t close = std::string_view::npos;
    bool doubled = false;
    if (b < line.size() && line[b] == '"') {
      for (std::size_t j = b + 1; j < line.size(); ++j) {
        if (line[j] != '"') continue;
        if (j + 1 < line.size() && line[j + 1] == '"') {
          doubled = true;
          ++j;
          continue;
        }
        close = j;
        break;
      }
      if (close == std::string_view::npos && unclosed) *unclosed = true;
    }
    std::size_t end;
    if (close != std::string_view::npos) {
      std::string_view inner = line.substr(b + 1, close - b - 1);
      end = line.find(sep, close + 1);
      // Text after the closing quote stays part of the field (as Python's csv: "A" strain is A strain).
      const std::string_view tail =
          line.substr(close + 1, end == std::string_view::npos ? std::string_view::npos : end - close - 1);
      if (doubled || !trim(tail).empty()) {
        std::string text = doubled ? unescape_quotes(inner) : std::string(inner);
        if (!trim(tail).empty()) text += std::string(tail);
        inner = escaped.emplace_back(std::move(text));
      }
      fields.push_back(trim(inner));
    } else {
      end = line.find(sep, k);
      fields.push_back(field_text(line.substr(k, end == std::string_view::npos ? std::string_view::npos : end - k)));
    }
    if (end == std::string_view::npos) return fields;
    k = end + 1;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Equal but for ASCII case (column names, missing-value spellings), without
// building lowered copies.
bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string read_whole_file(const std::string& path) {
  UniqueFile f = open_input(path);
  std::string text;
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) text.append(buffer, n);
  if (std::ferror(f.get())) throw InputError(at_file(path, "read error"));
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // UTF-8 byte-order mark from Excel
  if (text.rfind("\xFF\xFE", 0) == 0 || text.rfind("\xFE\xFF", 0) == 0)
    throw InputError(at_file(path, "UTF-16 text (Excel's \"Unicode Text\"); expected UTF-8: save it as \"CSV UTF-8\""));
  // A lone CR ends a line too (classic Mac OS, Excel's "CSV (Macintosh)"):
  // made LF, so that the file is not one long line. CRLF stays as it is.
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) text[i] = '\n';
  return text;
}

// Splits into lines, remembering 1-based line numbers for messages.
struct Line {
  std::size_t number;
  std::string_view text;
  bool tabs_only = false;  // only tabs (and spaces): see content_lines
};

// The lines that hold content: not blank, not a '#' comment. A line keeps its
// tabs at either end (only spaces and the line break are cut): in a
// tab-separated file they delimit empty fields — a gap in the first or last
// column, a row that is all gaps — which trimming would drop, shifting the
// columns or the rows after them. Lines of tabs alone are kept, marked: a
// row of gaps in a tab-separated headerless matrix, a blank line anywhere
// else (read_table, drop_tab_lines).
std::vector<Line> content_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    std::string_view line = text.substr(start, end - start);
    const std::string_view content = trim(line);
    const bool tabs_only = content.empty() && line.find('\t') != std::string_view::npos;
    if (tabs_only || (!content.empty() && content.front() != '#')) {
      const std::size_t b = line.find_first_not_of(" \r"), e = line.find_last_not_of(" \r");
      lines.push_back({number, line.substr(b, e - b + 1), tabs_only});
    }
    start = end + 1;
  }
  return lines;
}

// Removes the lines of tabs alone (where they are blank lines).
void drop_tab_lines(std::vector<Line>& lines) {
  lines.erase(std::remove_if(lines.begin(), lines.end(), [](const Line& l) { return l.tabs_only; }), lines.end());
}

}  // namespace

// --- numbers -----------------------------------------------------------------

std::optional<double> parse_double(std::string_view s) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Integers may come as "12" or, from pandas columns that once held NaN, "12.0".
std::optional<std::int64_t> parse_integer(std::string_view s) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  std::optional<double> d = parse_double(s);
  if (!d || !std::isfinite(*d) || std::floor(*d) != *d || std::abs(*d) >= 9.2e18) return std::nullopt;
  return static_cast<std::int64_t>(*d);
}

namespace {

// --- header --------------------------------------------------------------------

enum Role { kTrack, kFrame, kX, kY, kZ, kRoles };

struct Layout {
  char sep = ',';
  std::vector<std::string> names;  // as written in the header
  std::array<int, kRoles> column{-1, -1, -1, -1, -1};
  bool trackmate = false;  // TrackMate >= 7 puts three descriptive rows under the header
  bool z_is_trackmate = false;  // z read from TrackMate's POSITION_Z
};

const std::array<std::vector<std::string>, kRoles>& aliases() {
  static const std::array<std::vector<std::string>, kRoles> a{{
      {"track_id", "particle", "trajectory"},
      {"frame", "t"},
      {"x", "position_x"},
      {"y", "position_y"},
      {"z", "position_z"},
  }};
  return a;
}

const char* role_description(int role) {
  switch (role) {
    case kTrack: return "track id (track_id, particle or trajectory)";
    case kFrame: return "frame (frame or t)";
    case kX: return "x";
    case kY: return "y";
    default: return "z";
  }
}

char choose_separator(std::string_view header) {
  // Tabs at the line's ends delimit empty fields in a tab-separated row, but
  // are no evidence of tabs against a comma or semicolon inside it.
  const auto count = [](std::string_view s, char c) { return std::count(s.begin(), s.end(), c); };
  const std::ptrdiff_t commas = count(header, ','), semicolons = count(header, ';');
  const std::ptrdiff_t tabs = commas + semicolons > 0 ? count(trim(header), '\t') : count(header, '\t');
  char best = ',';
  std::ptrdiff_t best_count = 0;
  const std::pair<char, std::ptrdiff_t> candidates[] = {{',', commas}, {';', semicolons}, {'\t', tabs}};
  for (const auto& [c, n] : candidates) {
    if (n > best_count) best = c, best_count = n;
  }
  return best;
}

// The header for a one-line message: at most 20 names of at most 40 characters.
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 20; ++i) {
    const std::string& n = names[i];
    out += (out.empty() ? "" : ", ") + (n.empty() ? std::string("(unnamed)") : n.size() > 40 ? n.substr(0, 40) + "…" : n);
  }
  if (names.size() > 20) out += ", … (" + std::to_string(names.size()) + " columns)";
  return out;
}

// Picks the column for `role`: the first alias present wins; an alias written twice is ambiguous.
int find_column(const std::vector<std::string>& lowered, int role, const std::string& path) {
  for (const std::string& alias : aliases()[role]) {
    auto first = std::find(lowered.begin(), lowered.end(), alias);
    if (first == lowered.end()) continue;
    auto again = std::find(first + 1, lowered.end(), alias);
    if (again != lowered.end())
      throw InputError(at_file(path, "column '" + alias + "' appears twice in the header (fields " +
                                         std::to_string(first - lowered.begin() + 1) + " and " +
                                         std::to_string(again - lowered.begin() + 1) + ")"));
    return static_cast<int>(first - lowered.begin());
  }
  return -1;
}

Layout parse_header(const Line& header, const std::string& path) {
  Layout layout;
  layout.sep = choose_separator(header.text);
  std::vector<std::string> lowered;
  std::list<std::string> escaped;
  for (std::string_view name : split(header.text, layout.sep, escaped)) {
    layout.names.emplace_back(name);
    lowered.push_back(lower(name));
  }
  // A trailing separator names no column (a row's value there is refused).
  while (layout.names.size() > 1 && layout.names.back().empty()) layout.names.pop_back(), lowered.pop_back();
  std::string missing;
  for (int role = 0; role < kRoles; ++role) {
    layout.column[role] = find_column(lowered, role, path);
    if (layout.column[role] < 0 && role != kZ)
      missing += (missing.empty() ? "" : " and ") + std::string(role_description(role));
  }
  if (!missing.empty())
    throw InputError(at_file(path, "no column for " + missing + "; columns found: " + joined(layout.names)));
  layout.trackmate = std::find(lowered.begin(), lowered.end(), "position_x") != lowered.end();
  layout.z_is_trackmate = layout.column[kZ] >= 0 && lowered[static_cast<std::size_t>(layout.column[kZ])] == "position_z";
  return layout;
}

// --- rows ------------------------------------------------------------------------

struct RowContext {
  const std::string& path;
  const Layout& layout;
  const Line& line;
  const std::vector<std::string_view>& fields;

  std::string where() const { return path + ":" + std::to_string(line.number); }
  std::string_view field(int role) const {
    int c = layout.column[role];
    if (static_cast<std::size_t>(c) >= fields.size())
      throw InputError(where() + ": row has " + std::to_string(fields.size()) +
                       " fields; expected at least " + std::to_string(c + 1) + " (column '" +
                       layout.names[c] + "' is field " + std::to_string(c + 1) + ")");
    return fields[c];
  }
  [[noreturn]] void bad(int role, std::string_view text, const std::string& expected) const {
    std::string found = text.empty() ? "is empty" : "has '" + std::string(text) + "'";
    throw InputError(where() + ": column '" + layout.names[layout.column[role]] + "' " + found +
                     "; expected " + expected);
  }
  std::int64_t integer(int role, const char* what) const {
    std::string_view text = field(role);
    std::optional<std::int64_t> v = parse_integer(text);
    if (!v) bad(role, text, std::string("an integer ") + what);
    return *v;
  }
  double coordinate(int role) const {
    std::string_view text = field(role);
    std::optional<double> v = parse_double(text);
    if (!v) bad(role, text, "a number");
    if (!std::isfinite(*v)) bad(role, text, "a finite coordinate");
    return *v;
  }
};

struct ParsedRows {
  TrajectoryTable table;
  std::vector<std::size_t> line_numbers;
};

// TrackMate's descriptive rows ("Track ID", "(micron)") sit right under the header.
bool is_trackmate_description(const Layout& layout, const std::vector<std::string_view>& fields,
                              std::size_t row) {
  if (!layout.trackmate || row >= 3) return false;
  std::size_t c = static_cast<std::size_t>(layout.column[kX]);
  return c < fields.size() && !parse_double(fields[c]);
}

ParsedRows parse_rows(const std::vector<Line>& lines, const Layout& layout, const std::string& path) {
  ParsedRows p;
  TrajectoryTable& t = p.table;
  t.has_z = layout.column[kZ] >= 0;
  for (std::size_t k = 1; k < lines.size(); ++k) {
    std::list<std::string> escaped;
    std::vector<std::string_view> fields = split(lines[k].text, layout.sep, escaped);
    if (is_trackmate_description(layout, fields, k - 1)) continue;
    // An extra field shifts the columns after it (a decimal comma, "0,5"): never read such a row.
    // Empty fields past the header (a trailing separator) shift nothing.
    while (fields.size() > layout.names.size() && fields.back().empty()) fields.pop_back();
    if (fields.size() > layout.names.size())
      throw InputError(path + ":" + std::to_string(lines[k].number) + ": row has " + std::to_string(fields.size()) +
                       " fields but the header names " + std::to_string(layout.names.size()) +
                       " columns; expected at most one field per column (a decimal comma or an unquoted separator?)");
    RowContext row{path, layout, lines[k], fields};
    t.track_id.push_back(row.integer(kTrack, "track id"));
    t.frame.push_back(row.integer(kFrame, "frame number"));
    t.x.push_back(row.coordinate(kX));
    t.y.push_back(row.coordinate(kY));
    if (t.has_z) t.z.push_back(row.coordinate(kZ));
    p.line_numbers.push_back(lines[k].number);
  }
  return p;
}

template <typename T>
void permute(std::vector<T>& v, const std::vector<std::size_t>& order) {
  if (v.empty()) return;
  std::vector<T> out(v.size());
  for (std::size_t k = 0; k < order.size(); ++k) out[k] = v[order[k]];
  v.swap(out);
}

void sort_by_track_and_frame(ParsedRows& p) {
  TrajectoryTable& t = p.table;
  std::vector<std::size_t> order(t.rows());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return t.track_id[a] != t.track_id[b] ? t.track_id[a] < t.track_id[b] : t.frame[a] < t.frame[b];
  });
  permute(t.track_id, order), permute(t.frame, order);
  permute(t.x, order), permute(t.y, order), permute(t.z, order);
  permute(p.line_numbers, order);
}

void check_unique_frames(const ParsedRows& p, const std::string& path) {
  const TrajectoryTable& t = p.table;
  for (std::size_t k = 1; k < t.rows(); ++k) {
    if (t.track_id[k] != t.track_id[k - 1] || t.frame[k] != t.frame[k - 1]) continue;
    throw InputError(at_file(path, "track " + std::to_string(t.track_id[k]) + " has frame " +
                                       std::to_string(t.frame[k]) + " twice (lines " +
                                       std::to_string(p.line_numbers[k - 1]) + " and " +
                                       std::to_string(p.line_numbers[k]) + "); expected one row per frame"));
  }
}

std::vector<std::int64_t> track_offsets(const std::vector<std::int64_t>& sorted_ids) {
  std::vector<std::int64_t> offsets{0};
  for (std::size_t k = 1; k <= sorted_ids.size(); ++k)
    if (k == sorted_ids.size() || sorted_ids[k] != sorted_ids[k - 1])
      offsets.push_back(static_cast<std::int64_t>(k));
  if (sorted_ids.empty()) return {0};
  return offsets;
}

// --- writing ---------------------------------------------------------------------

// Buffers text and hands it to the file in large pieces.
class CsvWriter {
 public:
  explicit CsvWriter(const std::string& path) : path_(path), temp_(path), file_(open_output(temp_)) {}
  void text(std::string_view s) {
    buffer_.append(s);
    if (buffer_.size() > (1u << 20)) flush();
  }
  void number(double v) {
    // Whole numbers as integers: the shortest round-trip form writes 100000
    // as "1e+05", which no longer matches the same id written as an integer
    // elsewhere (cell_id in phenotypes.csv). Below 2^53 every integer is a
    // double exactly.
    if (std::abs(v) < 9007199254740992.0 && v == std::trunc(v)) return integer(static_cast<std::int64_t>(v));
    char digits[32];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);  // shortest round-trip form
    buffer_.append(digits, end);
  }
  void integer(std::int64_t v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    buffer_.append(digits, end);
  }
  void commit() {
    flush();
    close_output(file_, path_);
    temp_.commit();
  }

 private:
  void flush() {
    write_all(file_.get(), buffer_.data(), buffer_.size(), path_);
    buffer_.clear();
  }
  std::string path_;
  AtomicFile temp_;
  UniqueFile file_;
  std::string buffer_;
};

void check_trajectory_table(const TrajectoryTable& t, const std::string& path) {
  const std::size_t n = t.track_id.size();
  bool ok = t.frame.size() == n && t.x.size() == n && t.y.size() == n && (!t.has_z || t.z.size() == n);
  if (!ok)
    throw IoError(at_file(path, "cannot write trajectories: columns have different lengths (track_id " +
                                    std::to_string(n) + ", frame " + std::to_string(t.frame.size()) + ", x " +
                                    std::to_string(t.x.size()) + ", y " + std::to_string(t.y.size()) +
                                    ", z " + std::to_string(t.z.size()) + ")"));
  for (std::size_t k = 0; k < n; ++k) {
    bool finite = std::isfinite(t.x[k]) && std::isfinite(t.y[k]) && (!t.has_z || std::isfinite(t.z[k]));
    if (!finite)
      throw IoError(at_file(path, "cannot write trajectories: row " + std::to_string(k) + " (track " +
                                      std::to_string(t.track_id[k]) + ", frame " +
                                      std::to_string(t.frame[k]) + ") has a non-finite coordinate"));
  }
}

void check_result_table(const std::vector<std::string>& header,
                        const std::vector<std::vector<double>>& columns, const std::string& path) {
  if (header.size() != columns.size())
    throw IoError(at_file(path, "cannot write table: " + std::to_string(header.size()) +
                                    " column names for " + std::to_string(columns.size()) + " columns"));
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (header[c].find_first_of(",\"\n\r") != std::string::npos)
      throw IoError(at_file(
          path, "cannot write table: column name '" + header[c] + "' contains a comma, quote or line break"));
    if (columns[c].size() != columns[0].size())
      throw IoError(at_file(path, "cannot write table: column '" + header[c] + "' has " +
                                      std::to_string(columns[c].size()) + " rows; expected " +
                                      std::to_string(columns[0].size()) + " as column '" + header[0] + "'"));
  }
}

}  // namespace

std::string csv_field(std::string_view text) {
  // A leading # would make the row's first field a comment line to our reader.
  const bool quote = text.find_first_of(",\"\n\r;\t") != std::string_view::npos || (!text.empty() && text.front() == '#');
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

TrajectoryTable read_trajectories_csv(const std::string& path) {
  const std::string text = read_whole_file(path);
  std::vector<Line> lines = content_lines(text);
  drop_tab_lines(lines);  // a row of gaps holds no localisation
  if (lines.empty())
    throw InputError(at_file(path,
                             "file has no header row; expected columns track_id (or particle), frame, x, y "
                             "and optionally z"));
  const Layout layout = parse_header(lines[0], path);
  ParsedRows parsed = parse_rows(lines, layout, path);
  sort_by_track_and_frame(parsed);
  check_unique_frames(parsed, path);
  TrajectoryTable& t = parsed.table;
  t.track_offsets = track_offsets(t.track_id);
  // TrackMate exports POSITION_Z for 2-D movies too, the same on every spot:
  // read as 3-D, every diffusion feature would divide by 2·3 where a 2-D
  // track's divides by 2·2 (D 2/3 of the truth). Other layouts keep their z.
  if (layout.z_is_trackmate && t.has_z && !t.z.empty() &&
      std::all_of(t.z.begin(), t.z.end(), [&](double v) { return v == t.z.front(); })) {
    t.constant_z = t.z.front();
    t.has_z = false;
    t.z.clear();
  }
  return std::move(parsed.table);
}

void write_trajectories_csv(const std::string& path, const TrajectoryTable& t) {
  check_trajectory_table(t, path);
  CsvWriter out(path);
  out.text(t.has_z ? "track_id,frame,x,y,z\n" : "track_id,frame,x,y\n");
  for (std::size_t k = 0; k < t.rows(); ++k) {
    out.integer(t.track_id[k]);
    out.text(",");
    out.integer(t.frame[k]);
    out.text(",");
    out.number(t.x[k]);
    out.text(",");
    out.number(t.y[k]);
    if (t.has_z) out.text(","), out.number(t.z[k]);
    out.text("\n");
  }
  out.commit();
}

void write_csv_table(const std::string& path, const std::vector<std::string>& header,
                     const std::vector<std::vector<double>>& columns) {
  write_csv_table(path, {}, {}, header, columns);
}

void write_csv_table(const std::string& path, const std::vector<std::string>& text_header,
                     const std::vector<std::vector<std::string>>& text_columns, const std::vector<std::string>& header,
                     const std::vector<std::vector<double>>& columns) {
  check_result_table(header, columns, path);
  if (text_header.size() != text_columns.size())
    throw Error(path + ": " + std::to_string(text_header.size()) + " text column names for " +
                std::to_string(text_columns.size()) + " text columns");
  // A table may be all text (movies.csv before its maps are counted).
  const std::size_t rows = !columns.empty() ? columns[0].size() : text_columns.empty() ? 0 : text_columns[0].size();
  for (const auto& column : text_columns) {
    if (column.size() != rows) throw Error(path + ": text and number columns of different lengths");
  }
  CsvWriter out(path);
  std::vector<std::string> names = text_header;
  names.insert(names.end(), header.begin(), header.end());
  for (std::size_t c = 0; c < names.size(); ++c) out.text((c ? "," : "") + csv_field(names[c]));
  out.text("\n");
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < text_columns.size(); ++c) out.text((c ? "," : "") + csv_field(text_columns[c][r]));
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c || !text_columns.empty()) out.text(",");
      out.number(columns[c][r]);
    }
    out.text("\n");
  }
  out.commit();
}

// --- generic text tables -----------------------------------------------------

int TextTable::column(const std::string& name) const {
  for (std::size_t c = 0; c < header.size(); ++c)
    if (same_ignoring_case(header[c], name)) return static_cast<int>(c);
  return -1;
}

std::vector<int> TextTable::columns_named(const std::string& name) const {
  std::vector<int> found;
  for (std::size_t c = 0; c < header.size(); ++c)
    if (same_ignoring_case(header[c], name)) found.push_back(static_cast<int>(c));
  return found;
}

std::string TextTable::where(std::size_t k) const { return path + ":" + std::to_string(line.at(k)); }

namespace {

// Both CSV text layouts: with `header` the first content line names the
// columns; without, it is the first row. Every later row must be as wide.
TextTable read_table(const std::string& path, bool header) {
  const std::string text = read_whole_file(path);
  std::vector<Line> lines = content_lines(text);
  const auto first = std::find_if(lines.begin(), lines.end(), [](const Line& l) { return !l.tabs_only; });
  if (first == lines.end())
    throw InputError(at_file(path, header ? "empty file; expected a header row and data rows"
                                          : "empty file; expected one row of values per line"));
  TextTable t;
  t.path = path;
  const char sep = choose_separator(first->text);
  std::list<std::string> escaped;
  std::size_t width = split(first->text, sep, escaped).size();
  // Lines of tabs alone: rows of gaps in a tab-separated headerless matrix
  // (a window of a velocity map), else blank lines (a table's row names its
  // sample, movie or track, and spreadsheets end files with such lines).
  if (sep != '\t' || header) drop_tab_lines(lines);
  std::size_t unclosed_line = 0;  // the last line with a quote never closed, if any
  for (std::size_t k = 0; k < lines.size(); ++k) {
    escaped.clear();
    bool unclosed = false;
    auto fields = split(lines[k].text, sep, escaped, &unclosed);
    if (unclosed) unclosed_line = lines[k].number;
    // A header's trailing separator names no column.
    if (header && k == 0)
      while (fields.size() > 1 && fields.back().empty()) fields.pop_back(), width = fields.size();
    // Empty fields past the first row's (a trailing separator, as spreadsheets
    // write) shift nothing; a non-empty one would.
    while (fields.size() > width && fields.back().empty()) fields.pop_back();
    // A line of tabs too few for a row of gaps is a blank line with a stray tab.
    if (lines[k].tabs_only && fields.size() != width) continue;
    if (fields.size() != width) {
      // A quote never closed is text (split): most likely a value quoted over
      // two lines (this row's or the one before), which a line-based reader
      // does not join.
      const bool split_value = unclosed_line != 0 && lines[k].number - unclosed_line <= 1;
      throw InputError(path + ":" + std::to_string(lines[k].number) + ": expected " + std::to_string(width) +
                       " fields as in the " + (header ? "header" : "first row") + ", found " +
                       std::to_string(fields.size()) +
                       (split_value ? "; a quoted field is not closed on line " + std::to_string(unclosed_line) +
                                          " (line breaks inside a quoted value are not read: remove them)"
                                    : std::string()));
    }
    if (header && k == 0) {
      t.header.assign(fields.begin(), fields.end());
      continue;
    }
    t.rows.emplace_back(fields.begin(), fields.end());
    t.line.push_back(lines[k].number);
  }
  return t;
}

}  // namespace

TextTable read_csv_text(const std::string& path) { return read_table(path, true); }

TextTable read_csv_rows(const std::string& path) { return read_table(path, false); }

bool is_missing_value(std::string_view field) {
  static const char* const kNaSpellings[] = {"",     "nan",  "-nan", "na",   "n/a",      "#n/a",    "#n/a n/a",
                                             "#na",  "null", "none", "<na>", "-1.#ind",  "1.#ind", "-1.#qnan",
                                             "1.#qnan"};
  for (const char* na : kNaSpellings)
    if (same_ignoring_case(field, na)) return true;
  const auto v = parse_double(field);
  return v && std::isnan(*v);
}

double parse_real_field(const TextTable& t, std::size_t row, int column, bool allow_nan) {
  const std::string& s = t.rows.at(row).at(static_cast<std::size_t>(column));
  if (allow_nan && is_missing_value(s)) return std::numeric_limits<double>::quiet_NaN();
  std::optional<double> v = parse_double(s);
  if (!v || !std::isfinite(*v))
    throw InputError(t.where(row) + ": column '" + t.header[static_cast<std::size_t>(column)] +
                     "': expected a finite number, found '" + s + "'");
  return *v;
}

namespace {

// An integer as an output would write it back: another spelling ("007",
// "12.0", "+5", "1e3") would come back as other text.
bool plain_integer(const std::string& text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && text == std::to_string(v);
}

}  // namespace

bool is_blank_row(const std::vector<std::string>& row) {
  return std::all_of(row.begin(), row.end(), [](const std::string& f) { return f.empty(); });
}

IdColumn::IdColumn(const TextTable& t, int column, Numbers numbers, bool unknown_allowed)
    : column_(column), unknown_allowed_(unknown_allowed) {
  if (column < 0) return;
  const auto is_number = [&](const std::string& f) {
    return numbers == Numbers::plain_digits ? plain_integer(f) : parse_integer(f).has_value();
  };
  for (std::size_t k = 0; k < t.rows.size() && !named_; ++k) {
    const std::string& f = field(t, k);
    if (!is_blank_row(t.rows[k]) && !unknown(f) && !is_missing_value(f) && !is_number(f)) {
      named_ = true;
      first_name_ = k;
    }
  }
  if (!named_) return;
  const std::string& header = t.header[static_cast<std::size_t>(column)];
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    const std::string& f = field(t, k);
    if (is_blank_row(t.rows[k]) || unknown(f)) continue;
    if (is_missing_value(f))
      throw InputError(t.where(k) + ": column '" + header + "': a missing value ('" + f + "'); expected an id");
    if (std::any_of(f.begin(), f.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      throw InputError(t.where(k) + ": column '" + header + "': the id '" + f +
                       "' holds a control character (a line break, a tab); expected an id on one line");
    if (index_.find(f) == index_.end()) {
      index_.emplace(f, static_cast<std::int64_t>(names_.size()));
      names_.push_back(f);
    }
  }
}

std::int64_t IdColumn::id(const TextTable& t, std::size_t k, std::int64_t least) const {
  const std::string& f = field(t, k);
  if (unknown(f)) return -1;
  if (!named_) return parse_integer_field(t, k, column_, least);
  // Among names, a field that reads as a number keeps the numbers' limit: a
  // -3 cell would otherwise be a name.
  if (const auto v = parse_integer(f); v && *v < least) parse_integer_field(t, k, column_, least);
  const auto it = index_.find(f);
  if (it == index_.end())  // a blank row: the constructor numbered none
    throw InputError(t.where(k) + ": column '" + t.header[static_cast<std::size_t>(column_)] +
                     "' is empty; expected an id");
  return it->second;
}

std::string IdColumn::describe(const TextTable& t) const {
  if (!named_) return "";
  return t.header[static_cast<std::size_t>(column_)] + ": " + std::to_string(names_.size()) + " id(s) as names (line " +
         std::to_string(t.line[first_name_]) + ": '" + field(t, first_name_) +
         "' is not a number), written back as imported";
}

const std::string& IdColumn::field(const TextTable& t, std::size_t k) const {
  return t.rows[k][static_cast<std::size_t>(column_)];
}

bool IdColumn::unknown(const std::string& f) const {
  return unknown_allowed_ && (is_missing_value(f) || parse_integer(f) == -1);  // "-1.0" too
}

std::int64_t parse_integer_field(const TextTable& t, std::size_t row, int column, std::int64_t min) {
  const std::string& s = t.rows.at(row).at(static_cast<std::size_t>(column));
  std::optional<std::int64_t> v = parse_integer(s);
  if (!v || *v < min) {
    const std::string what = min == std::numeric_limits<std::int64_t>::min()
                                 ? std::string("an integer")
                                 : "an integer >= " + std::to_string(min);
    throw InputError(t.where(row) + ": column '" + t.header[static_cast<std::size_t>(column)] + "': expected " + what +
                     ", found '" + s + "'");
  }
  return *v;
}

}  // namespace phenoscale::io
