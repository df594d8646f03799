#include "phenoscale/io/star.hpp"

#include <cctype>
#include <cstdio>

#include "phenoscale/core/error.hpp"

namespace phenoscale::io {
namespace {

bool has_blank(const std::string& s) { return s.find_first_of(" \t\r\n") != std::string::npos; }

// A value a STAR reader would take for something else when bare: a comment
// (#), a tag (_), a quoted string, or a reserved word (data_, loop_, ...).
bool needs_quotes(const std::string& v) {
  if (has_blank(v) || v.front() == '#' || v.front() == '_' || v.front() == '\'' || v.front() == '"') return true;
  std::string lower(v.substr(0, 7));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"data_", "loop_", "save_", "stop_", "global_"})
    if (lower.rfind(word, 0) == 0) return true;
  return false;
}

std::string quoted(const std::string& value) {
  if (value.empty()) throw InputError("STAR row: expected a non-empty value, found an empty one");
  if (!needs_quotes(value)) return value;
  if (value.find('\'') != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
    throw InputError("STAR row: expected a value without single quotes or line breaks when it needs quoting, found \"" +
                     value + "\"");
  }
  return "'" + value + "'";
}

}  // namespace

std::string star_loop_header(const std::string& block, const std::vector<std::string>& columns) {
  if (block.empty() || has_blank(block)) throw InputError("STAR block: expected a name without blanks, found \"" + block + "\"");
  std::string text = "\n# version 30001\n\ndata_" + block + "\n\nloop_\n";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].empty() || has_blank(columns[i])) {
      throw InputError("STAR data_" + block + ": expected a column name without blanks, found \"" + columns[i] + "\"");
    }
    text += "_" + columns[i] + " #" + std::to_string(i + 1) + "\n";
  }
  return text;
}

std::string star_row(const std::vector<std::string>& values, std::size_t columns) {
  if (values.size() != columns) {
    throw InputError("STAR row: expected " + std::to_string(columns) + " values, found " + std::to_string(values.size()));
  }
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? " " : "") + quoted(values[i]);
  return text + "\n";
}

std::string star_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace phenoscale::io
