#include "phenoscale/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <toml++/toml.h>

#include "phenoscale/core/error.hpp"

namespace phenoscale::core {
namespace {

std::string where(const std::string& deck_name) {
  return deck_name.empty() ? std::string("input deck") : deck_name;
}

// Converts a TOML node to a Value of the requested type, or explains why not.
std::optional<Value> convert(const toml::node& node, ValueType type, std::string& why) {
  auto as_real = [](const toml::node& n) -> std::optional<double> {
    if (auto v = n.value_exact<double>()) return *v;
    if (auto i = n.value_exact<std::int64_t>()) return static_cast<double>(*i);
    return std::nullopt;
  };
  switch (type) {
    case ValueType::boolean:
      if (auto v = node.value_exact<bool>()) return Value{*v};
      break;
    case ValueType::integer:
      if (auto v = node.value_exact<std::int64_t>()) return Value{*v};
      break;
    case ValueType::real:
      if (auto v = as_real(node)) return Value{*v};
      break;
    case ValueType::string:
      if (auto v = node.value_exact<std::string>()) return Value{*v};
      break;
    case ValueType::integer_list:
    case ValueType::real_list:
    case ValueType::string_list: {
      const toml::array* arr = node.as_array();
      if (!arr) break;
      std::vector<std::int64_t> ints;
      std::vector<double> reals;
      std::vector<std::string> strings;
      for (const toml::node& el : *arr) {
        if (type == ValueType::integer_list) {
          auto v = el.value_exact<std::int64_t>();
          if (!v) { why = "a list of integers"; return std::nullopt; }
          ints.push_back(*v);
        } else if (type == ValueType::real_list) {
          auto v = as_real(el);
          if (!v) { why = "a list of numbers"; return std::nullopt; }
          reals.push_back(*v);
        } else {
          auto v = el.value_exact<std::string>();
          if (!v) { why = "a list of strings"; return std::nullopt; }
          strings.push_back(*v);
        }
      }
      if (type == ValueType::integer_list) return Value{ints};
      if (type == ValueType::real_list) return Value{reals};
      return Value{strings};
    }
  }
  why = std::string("a value of type ") + type_name(type);
  return std::nullopt;
}

std::string node_text(const toml::node& node) {
  std::ostringstream os;
  node.visit([&os](const auto& n) { os << toml::toml_formatter{n}; });
  return os.str();
}

void check_range(const KeySpec& spec, double x, const std::string& origin) {
  if (!std::isfinite(x)) {  // TOML's nan and inf: no key means either (an inf would fail far from the deck)
    throw ConfigError(origin + ": key '" + spec.key + "' is " + (std::isnan(x) ? "NaN" : "infinite") +
                      "; expected a finite number");
  }
  if ((spec.min && x < *spec.min) || (spec.max && x > *spec.max)) {
    std::ostringstream os;
    os << origin << ": key '" << spec.key << "' = " << x << " is out of range: expected ";
    if (spec.min && spec.max) os << "a value in [" << *spec.min << ", " << *spec.max << "]";
    else if (spec.min) os << "a value >= " << *spec.min;
    else os << "a value <= " << *spec.max;
    throw ConfigError(os.str());
  }
}

void validate(const KeySpec& spec, const Value& value, const std::string& origin) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
          check_range(spec, static_cast<double>(v), origin);
        } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>> ||
                             std::is_same_v<T, std::vector<double>>) {
          for (auto x : v) check_range(spec, static_cast<double>(x), origin);
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!spec.choices.empty() &&
              std::find(spec.choices.begin(), spec.choices.end(), v) == spec.choices.end()) {
            std::string list;
            for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
            throw ConfigError(origin + ": key '" + spec.key + "' = \"" + v +
                              "\" is not one of: " + list);
          }
        }
      },
      value);
}

// Flattens a TOML table into "a.b.c" -> node.
void flatten(const toml::table& table, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, key, out);
    } else {
      out.emplace_back(key, &node);
    }
  }
}

}  // namespace

const char* type_name(ValueType type) {
  switch (type) {
    case ValueType::boolean: return "boolean";
    case ValueType::integer: return "integer";
    case ValueType::real: return "number";
    case ValueType::string: return "string";
    case ValueType::integer_list: return "integer list";
    case ValueType::real_list: return "number list";
    case ValueType::string_list: return "string list";
  }
  return "?";
}

namespace {

// Shortest text that reads back as the same double, always with a '.' or an
// exponent so TOML keeps it a float: 0.1 -> "0.1", 6 -> "6.0".
std::string format_real(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (std::isnan(x)) return "nan";
  char buf[32];
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.1f", x);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string text(buf);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

std::string format_string(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string format_scalar(bool v) { return v ? "true" : "false"; }
std::string format_scalar(std::int64_t v) { return std::to_string(v); }
std::string format_scalar(double v) { return format_real(v); }
std::string format_scalar(const std::string& v) { return format_string(v); }

}  // namespace

std::string format_value(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          return format_scalar(v);
        } else {
          std::string out = "[";
          for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + format_scalar(v[i]);
          return out + "]";
        }
      },
      value);
}

std::size_t levenshtein(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// ---- Schema -------------------------------------------------------------------

Schema& Schema::add(KeySpec spec) {
  if (spec.key.find('.') == std::string::npos) {
    throw std::logic_error("schema key '" + spec.key + "' must be 'section.name'");
  }
  if (find(spec.key)) throw std::logic_error("schema key '" + spec.key + "' declared twice");
  validate(spec, spec.default_value, "schema default");
  keys_.push_back(std::move(spec));
  return *this;
}

Schema& Schema::boolean(const std::string& key, bool def, const std::string& doc) {
  return add({key, ValueType::boolean, def, doc, {}, {}, {}});
}
Schema& Schema::integer(const std::string& key, std::int64_t def, const std::string& doc,
                        std::optional<double> min, std::optional<double> max) {
  return add({key, ValueType::integer, def, doc, min, max, {}});
}
Schema& Schema::real(const std::string& key, double def, const std::string& doc,
                     std::optional<double> min, std::optional<double> max) {
  return add({key, ValueType::real, def, doc, min, max, {}});
}
Schema& Schema::string(const std::string& key, const std::string& def, const std::string& doc,
                       std::vector<std::string> choices) {
  return add({key, ValueType::string, def, doc, {}, {}, std::move(choices)});
}
Schema& Schema::integer_list(const std::string& key, std::vector<std::int64_t> def,
                             const std::string& doc, std::optional<double> min,
                             std::optional<double> max) {
  return add({key, ValueType::integer_list, std::move(def), doc, min, max, {}});
}
Schema& Schema::real_list(const std::string& key, std::vector<double> def, const std::string& doc,
                          std::optional<double> min, std::optional<double> max) {
  return add({key, ValueType::real_list, std::move(def), doc, min, max, {}});
}
Schema& Schema::string_list(const std::string& key, std::vector<std::string> def,
                            const std::string& doc) {
  return add({key, ValueType::string_list, std::move(def), doc, {}, {}, {}});
}

const KeySpec* Schema::find(const std::string& key) const {
  for (const auto& k : keys_) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string Schema::nearest(const std::string& key) const {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, key.size() / 3) + 1;
  for (const auto& k : keys_) {
    std::size_t d = levenshtein(key, k.key);
    // A key put in the wrong section ("train.snr" for "simulate.snr") is a near miss too.
    const auto dot_a = key.rfind('.'), dot_b = k.key.rfind('.');
    if (dot_a != std::string::npos && key.substr(dot_a) == k.key.substr(dot_b)) d = std::min<std::size_t>(d, 2);
    if (d < best_distance) {
      best_distance = d;
      best = k.key;
    }
  }
  return best;
}

std::string Schema::to_markdown() const {
  std::ostringstream os;
  os << "| key | type | default | range / choices | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : keys_) {
    std::string range;
    auto number = [](double x) {
      char buf[32];
      std::snprintf(buf, sizeof buf, std::fabs(x) < 1e12 && x == std::floor(x) ? "%.0f" : "%g", x);
      return std::string(buf);
    };
    if (k.min) range = "≥ " + number(*k.min);
    if (k.max) range += (range.empty() ? "" : ", ") + std::string("≤ ") + number(*k.max);
    for (const auto& c : k.choices) range += (range.empty() ? "" : ", ") + std::string("`") + c + "`";
    // A '|' inside a cell (the choice "k-means||") would end the cell: escape it.
    auto cell = [](std::string text) {
      for (std::size_t pos = 0; (pos = text.find('|', pos)) != std::string::npos; pos += 2) text.insert(pos, "\\");
      return text;
    };
    os << "| `" << k.key << "` | " << type_name(k.type) << " | `" << cell(format_value(k.default_value))
       << "` | " << cell(range) << " | " << cell(k.doc) << " |\n";
  }
  return os.str();
}

// ---- Config -------------------------------------------------------------------

void Config::assign(const KeySpec& spec, const Value& value, const std::string& origin) {
  validate(spec, value, origin);
  values_[spec.key] = value;
  explicitly_set_[spec.key] = true;
}

Config Config::resolve(const Schema& schema, const std::string& deck_text,
                       const std::string& deck_name, const std::vector<std::string>& overrides) {
  Config cfg;
  cfg.schema_ = schema;
  cfg.deck_name_ = deck_name;
  for (const auto& k : schema.keys()) {
    cfg.values_[k.key] = k.default_value;
    cfg.explicitly_set_[k.key] = false;
  }
  const std::string origin = where(deck_name);

  auto unknown_key = [&](const std::string& key, const std::string& from) {
    std::string msg = from + ": unknown key '" + key + "'";
    const std::string guess = schema.nearest(key);
    if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
    throw ConfigError(msg);
  };

  // 1. the deck file
  toml::table table;
  try {
    table = toml::parse(deck_text, deck_name.empty() ? std::string_view{} : std::string_view{deck_name});
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError(origin + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                      ": invalid TOML: " + std::string(e.description()));
  }
  std::vector<std::pair<std::string, const toml::node*>> entries;
  flatten(table, "", entries);
  for (const auto& [key, node] : entries) {
    const KeySpec* spec = schema.find(key);
    if (!spec) unknown_key(key, origin);
    std::string why;
    auto value = convert(*node, spec->type, why);
    if (!value) {
      throw ConfigError(origin + ": key '" + key + "': expected " + why + ", found " + node_text(*node));
    }
    cfg.assign(*spec, *value, origin);
  }

  // 2. --set section.key=value overrides
  for (const auto& ov : overrides) {
    const auto eq = ov.find('=');
    const std::string from = "--set " + ov;
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError(from + ": expected section.key=value");
    }
    const std::string key = ov.substr(0, eq);
    const std::string text = ov.substr(eq + 1);
    const KeySpec* spec = schema.find(key);
    if (!spec) unknown_key(key, "--set");
    toml::table parsed;
    bool ok = true;
    try {
      parsed = toml::parse("v = " + text);
    } catch (const toml::parse_error&) {
      ok = false;
    }
    std::string why;
    std::optional<Value> value;
    if (ok) value = convert(*parsed.get("v"), spec->type, why);
    // Bare words are accepted for strings: --set train.model=dsrf3d
    if (!value && spec->type == ValueType::string) value = Value{text};
    if (!value) {
      throw ConfigError(from + ": expected " + (why.empty() ? type_name(spec->type) : why) +
                        " for '" + key + "', found '" + text + "'");
    }
    cfg.assign(*spec, *value, "--set");
  }
  return cfg;
}

const Value& Config::get(const std::string& key, ValueType expected) const {
  const KeySpec* spec = schema_.find(key);
  if (!spec) throw std::logic_error("config key '" + key + "' is not in the schema");
  if (spec->type != expected) {
    throw std::logic_error("config key '" + key + "' is a " + type_name(spec->type) + ", read as " +
                           type_name(expected));
  }
  return values_.at(key);
}

bool Config::boolean(const std::string& key) const {
  return std::get<bool>(get(key, ValueType::boolean));
}
std::int64_t Config::integer(const std::string& key) const {
  return std::get<std::int64_t>(get(key, ValueType::integer));
}
double Config::real(const std::string& key) const {
  return std::get<double>(get(key, ValueType::real));
}
const std::string& Config::string(const std::string& key) const {
  return std::get<std::string>(get(key, ValueType::string));
}
const std::vector<std::int64_t>& Config::integer_list(const std::string& key) const {
  return std::get<std::vector<std::int64_t>>(get(key, ValueType::integer_list));
}
const std::vector<double>& Config::real_list(const std::string& key) const {
  return std::get<std::vector<double>>(get(key, ValueType::real_list));
}
const std::vector<std::string>& Config::string_list(const std::string& key) const {
  return std::get<std::vector<std::string>>(get(key, ValueType::string_list));
}

bool Config::is_set(const std::string& key) const {
  auto it = explicitly_set_.find(key);
  return it != explicitly_set_.end() && it->second;
}

std::string Config::text(const std::string& key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) throw ConfigError("unknown key '" + key + "' (not in the schema)");
  return format_value(it->second);
}

std::string Config::to_toml() const {
  // Sections in order of first appearance in the schema, keys in schema order.
  std::vector<std::string> sections;
  for (const auto& spec : schema_.keys()) {
    const std::string sec = spec.key.substr(0, spec.key.find('.'));
    if (std::find(sections.begin(), sections.end(), sec) == sections.end()) sections.push_back(sec);
  }
  std::ostringstream os;
  for (const auto& sec : sections) {
    os << (&sec == &sections.front() ? "" : "\n") << "[" << sec << "]\n";
    for (const auto& spec : schema_.keys()) {
      const auto dot = spec.key.find('.');
      if (spec.key.compare(0, dot, sec) != 0 || dot != sec.size()) continue;
      os << spec.key.substr(dot + 1) << " = " << format_value(values_.at(spec.key)) << "\n";
    }
  }
  return os.str();
}

}  // namespace phenoscale::core
