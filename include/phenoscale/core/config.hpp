// Input decks: TOML files validated against a schema.
//
// Each pipeline declares one `Schema` covering all of its stages' sections
// (plus the common [run] section): every key has a type, a default, a
// documentation line and optionally a range or a set of choices. A deck is
// resolved by layering defaults < deck file < `--set section.key=value`
// overrides; unknown keys are rejected with the nearest valid key suggested.
// The resolved deck (every key, defaults included) is written into each output
// file so a result can always be traced to the exact settings that made it.
// The pattern is PETSc's options database with LAMMPS' read-on-rank-0 decks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace phenoscale::core {

enum class ValueType { boolean, integer, real, string, integer_list, real_list, string_list };

using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                           std::vector<double>, std::vector<std::string>>;

const char* type_name(ValueType type);
std::string format_value(const Value& value);  // TOML literal, e.g. `0.1`, `"dsrf3d"`, `[1, 2]`

struct KeySpec {
  std::string key;  // "section.name"
  ValueType type;
  Value default_value;
  std::string doc;
  std::optional<double> min;          // inclusive, numeric types and list elements
  std::optional<double> max;          // inclusive
  std::vector<std::string> choices;   // allowed strings (empty: any)
};

class Schema {
 public:
  Schema& boolean(const std::string& key, bool def, const std::string& doc);
  Schema& integer(const std::string& key, std::int64_t def, const std::string& doc,
                  std::optional<double> min = {}, std::optional<double> max = {});
  Schema& real(const std::string& key, double def, const std::string& doc,
               std::optional<double> min = {}, std::optional<double> max = {});
  Schema& string(const std::string& key, const std::string& def, const std::string& doc,
                 std::vector<std::string> choices = {});
  Schema& integer_list(const std::string& key, std::vector<std::int64_t> def, const std::string& doc,
                       std::optional<double> min = {}, std::optional<double> max = {});
  Schema& real_list(const std::string& key, std::vector<double> def, const std::string& doc,
                    std::optional<double> min = {}, std::optional<double> max = {});
  Schema& string_list(const std::string& key, std::vector<std::string> def, const std::string& doc);

  const KeySpec* find(const std::string& key) const;
  const std::vector<KeySpec>& keys() const { return keys_; }
  // The valid key closest to `key` by edit distance, or "" when none is close.
  std::string nearest(const std::string& key) const;

  // Markdown table of every key (used to generate docs/input-deck.md sections).
  std::string to_markdown() const;

 private:
  Schema& add(KeySpec spec);
  std::vector<KeySpec> keys_;
};

class Config {
 public:
  // Resolves defaults < deck text < overrides ("section.key=value"). `deck_name`
  // is the file name used in error messages ("" when there is no deck file).
  static Config resolve(const Schema& schema, const std::string& deck_text,
                        const std::string& deck_name, const std::vector<std::string>& overrides);

  bool boolean(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  const std::string& string(const std::string& key) const;
  const std::vector<std::int64_t>& integer_list(const std::string& key) const;
  const std::vector<double>& real_list(const std::string& key) const;
  const std::vector<std::string>& string_list(const std::string& key) const;

  // Did the value come from the deck or an override (not a default)?
  bool is_set(const std::string& key) const;

  // The resolved deck as TOML text: every key with its value, grouped by section.
  std::string to_toml() const;
  // One key's value as TOML writes it ("0.15", "[1.0, 5.0]", "\"sgd\"").
  std::string text(const std::string& key) const;
  const std::string& deck_name() const { return deck_name_; }
  const Schema& schema() const { return schema_; }

 private:
  const Value& get(const std::string& key, ValueType expected) const;
  void assign(const KeySpec& spec, const Value& value, const std::string& origin);

  Schema schema_;
  std::string deck_name_;
  std::map<std::string, Value> values_;
  std::map<std::string, bool> explicitly_set_;
};

// Edit distance used for "did you mean" suggestions.
std::size_t levenshtein(const std::string& a, const std::string& b);

}  // namespace phenoscale::core
