// STAR particle tables as RELION and Dynamo read them.
//
// STAR (Hall 1991; Hall & Spadaccini 1994) is the text format RELION uses
// for particle metadata: a `data_<name>` block, `loop_`, one `_rlnName #i`
// line per column, then one whitespace-separated row per particle. `tomo
// pick`, `subdivide` and `recover` write their particles this way so that
// RELION, Dynamo and the Python `starfile`/gemmi readers open them (the
// columns each stage writes and their conventions: docs/file-formats.md).
// The pieces are plain text so that every rank can format its own rows and
// io::write_text_in_rank_order writes the file once, atomically.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace phenoscale::io {

// "# version 30001" (RELION 3.1+ tables), `data_<block>`, `loop_` and the
// column lines. Column names are given without the leading underscore
// ("rlnCoordinateX"); throws InputError for an empty or blank-containing name.
std::string star_loop_header(const std::string& block, const std::vector<std::string>& columns);

// One row: `values` separated by single spaces, newline-terminated. A value
// with blanks is single-quoted (STAR's quoting); an empty value, a value with
// a quote and a blank, or a row of the wrong length throw InputError.
std::string star_row(const std::vector<std::string>& values, std::size_t columns);

// A number as text that reads back to the same double to 9 significant digits.
std::string star_number(double v);

}  // namespace phenoscale::io
