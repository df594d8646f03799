// Single-particle trajectories as CSV, and plain numeric result tables.
//
// The DeepSPT pipeline takes tracks from whatever tracker a lab uses
// (trackpy's `particle,frame,x,y`, TrackMate's `TRACK_ID,FRAME,POSITION_X,...`,
// hand-written `track_id,frame,x,y,z`), so column names are matched loosely
// while the values are checked strictly: a misparsed coordinate would quietly
// change a diffusion class. Rows come back grouped by track and ordered by
// frame, with CSR offsets, because every consumer walks one track at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace phenoscale::io {

struct TrajectoryTable {
  std::vector<std::int64_t> track_id;
  std::vector<std::int64_t> frame;
  std::vector<double> x, y, z;  // z is empty unless has_z
  bool has_z = false;
  // A TrackMate spot table whose POSITION_Z is the same on every row (0 for
  // a 2-D movie): read as 2-D tracks, has_z false; this holds the value.
  std::optional<double> constant_z;
  // Rows of track k are [track_offsets[k], track_offsets[k+1]); size tracks()+1.
  std::vector<std::int64_t> track_offsets;

  std::size_t rows() const { return track_id.size(); }
  std::size_t tracks() const { return track_offsets.empty() ? 0 : track_offsets.size() - 1; }
};

// Reads a trajectory CSV. A header row is required; columns are matched
// case-insensitively: track id as `track_id`, `particle` or `trajectory`,
// frame as `frame` or `t`, coordinates as `x`, `y` and optionally `z` (or
// TrackMate's `position_x`...). Other columns are ignored. The separator is
// `,`, or `;` or tab when the header uses it. Blank lines and lines starting
// with `#` are skipped. Rows are sorted stably by (track, frame); gaps in the
// frames are kept. Throws InputError (file:line, column, text found) for a
// missing column, a non-numeric or non-finite value, a non-integer frame or
// track id, or a frame repeated within a track. TrackMate's POSITION_Z with
// one value throughout is no third dimension (constant_z): the tracks are 2-D.
TrajectoryTable read_trajectories_csv(const std::string& path);

// Writes `track_id,frame,x,y[,z]` in the table's row order, atomically, with
// shortest round-trip formatting (reading back gives identical doubles).
void write_trajectories_csv(const std::string& path, const TrajectoryTable& table);

// Writes a numeric table, one vector per column, atomically. NaN/Inf are
// written as `nan`/`inf` (pandas reads them back).
void write_csv_table(const std::string& path, const std::vector<std::string>& header,
                     const std::vector<std::vector<double>>& columns);
// The same with leading text columns (method names, subsets; written as given).
void write_csv_table(const std::string& path, const std::vector<std::string>& text_header,
                     const std::vector<std::vector<std::string>>& text_columns, const std::vector<std::string>& header,
                     const std::vector<std::vector<double>>& columns);

// A CSV read as text: the header and every content row with its line number,
// for stages whose columns are not trajectories (edge import's protrusion
// series). Same conventions as read_trajectories_csv: `,`, `;` or tab
// separator chosen from the header, blank and `#` lines skipped, quoted
// fields read as RFC 4180 within a line (separators and "" inside; the
// quotes dropped), UTF-8 byte-order mark ignored. Throws
// InputError for an unreadable or empty file and for a row whose field count
// differs from the header's (file:line); empty fields past the header's count
// (a trailing separator) are dropped first.
struct TextTable {
  std::string path;
  std::vector<std::string> header;             // as written
  std::vector<std::vector<std::string>> rows;  // fields per content row
  std::vector<std::size_t> line;               // 1-based line number of each row
  // Index of the column named `name` (case-insensitive), or -1.
  int column(const std::string& name) const;
  // Every column named `name` (case-insensitive), in header order.
  std::vector<int> columns_named(const std::string& name) const;
  // "path:line" of row k, for messages.
  std::string where(std::size_t k) const;
};
TextTable read_csv_text(const std::string& path);
// The same for a headerless CSV (a numeric matrix as numpy.savetxt writes
// it): every content line is a row, `header` stays empty, and a row whose
// field count differs from the first row's is an InputError (file:line).
TextTable read_csv_rows(const std::string& path);

// A whole string as a number ("1.5", "+2", "1e-3"); nullopt when it is
// empty or anything is left over ("6x4"). "nan" and "inf" parse: callers that
// need finite values check. Integers also accept "12.0" (pandas).
std::optional<double> parse_double(std::string_view s);
std::optional<std::int64_t> parse_integer(std::string_view s);

// A missing value in a numeric field: empty, or one of pandas' default NA
// spellings (read_csv's na_values: nan, -nan, NA, N/A, #N/A, NULL, None,
// <NA>, 1.#QNAN, ...; any case), or any text that parses as NaN.
bool is_missing_value(std::string_view field);

// A text value as a CSV field: quoted (RFC 4180, "" for a quote) when it
// holds a comma, semicolon, tab, quote or line break or begins with # — a
// condition named "drug, 10 uM" stays one field. Other text unchanged.
std::string csv_field(std::string_view text);

// Numbers of a TextTable field; InputError "path:line: column 'c': expected
// <what>, found 'text'" otherwise. Integers accept "12.0" (pandas); below
// `min` is an error too (ids: 0).
double parse_real_field(const TextTable& t, std::size_t row, int column, bool allow_nan);
std::int64_t parse_integer_field(const TextTable& t, std::size_t row, int column,
                                 std::int64_t min = std::numeric_limits<std::int64_t>::min());

// A row of empty fields (",,,": cleared spreadsheet cells), which readers
// of tables skip as a blank line.
bool is_blank_row(const std::vector<std::string>& row);

// A column of ids in a TextTable (edge import's sample_id, cell_id and
// experiment; the cell_id and experiment of a movies table): numbers when
// every field is one, names otherwise ("s0001", "A01-c3", "2024-05-01") —
// each distinct text one id, numbered in the order of its first line and
// kept, so that outputs write it back as imported. Blank rows (every field
// empty) are skipped. Where unknown ids are allowed, -1 (or -1.0) and a
// missing value (is_missing_value) are unknown (-1); elsewhere a missing
// value is an error. Among names, a field that reads as an integer keeps
// the numbers' lower limit. A name holding a control character (a line
// break, a tab) is an error: names are stored one per line.
class IdColumn {
 public:
  enum class Numbers {
    plain_digits,  // "12" only: "012" or "12.0" would be written back as other text (sample_id)
    any_integer,   // whatever parse_integer reads, "12.0" too (pandas' integer column with gaps)
  };
  IdColumn() = default;  // no such column
  IdColumn(const TextTable& t, int column, Numbers numbers, bool unknown_allowed);
  bool named() const { return named_; }
  const std::vector<std::string>& names() const { return names_; }
  // Row k's id: -1 when unknown, its name's index, or its integer (below
  // `least` an InputError, as parse_integer_field).
  std::int64_t id(const TextTable& t, std::size_t k, std::int64_t least) const;
  // "<column>: <n> id(s) as names (line L: '<text>' is not a number), written
  // back as imported", or "" for a column of numbers.
  std::string describe(const TextTable& t) const;

 private:
  const std::string& field(const TextTable& t, std::size_t k) const;
  bool unknown(const std::string& f) const;

  int column_ = -1;
  bool unknown_allowed_ = false, named_ = false;
  std::size_t first_name_ = 0;
  std::unordered_map<std::string, std::int64_t> index_;
  std::vector<std::string> names_;
};

}  // namespace phenoscale::io
