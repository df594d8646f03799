#include "phenoscale/io/star.hpp"

#include <cstdio>

#include "phenoscale/core/error.hpp"

namespace phenoscale::io {
namespace {

bool has_blank(const std::string& s) { return s.find_first_of(" \t\r\n") != std::string::npos; }

std::string quoted(const std::string& value) {
  if (value.empty()) throw InputError("STAR row: expected a non-empty value, found an empty one");
  if (!has_blank(value)) return value;
  if (value.find('\'') != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
    throw InputError("STAR row: expected a value without quotes or line breaks when it has blanks, found \"" +
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
