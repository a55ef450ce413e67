// Configuration: a declared table of keys, loaded from a properties file plus
// command-line overrides (docs/configuration.md).
//
// Each process declares a ConfigDef: every key it accepts, with type,
// default (or none, meaning required), allowed range or choices, and a line
// of documentation. The same table validates topic-level configs and
// generates docs/configuration.md, so the docs cannot drift from the code.
//
// Loading order: defaults < properties file < --override key=value (the last
// override of a key wins). Any unknown key, unparsable or out-of-range value,
// or missing required key fails the load with one line naming the key and
// where it came from, e.g.
//   broker.properties:7: unknown config key 'lisener'
//   --override num.partitions=0: value 0 is below the minimum 1
//   missing required config key 'node.id'
//
// Properties syntax (a subset of java.util.Properties): one `key=value` or
// `key: value` per line; whitespace around key and value is trimmed; blank
// lines and lines starting with `#` or `!` are comments; a line ending in a
// backslash continues on the next. A key given twice in one file is an error
// (one of the two is surely a mistake).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace samsa {

enum class ConfigType {
  kInt,     // int64 within [min, max]
  kBool,    // true | false
  kString,  // any text (a validator may restrict it)
  kEnum,    // one of `choices`
  kList,    // comma-separated strings; empty text is the empty list
};

struct ConfigKey {
  std::string name;
  ConfigType type = ConfigType::kString;
  // nullopt: the key is required. For kInt/kBool/kEnum the default must itself
  // be a valid value (checked when the key is defined).
  std::optional<std::string> default_value = std::nullopt;
  std::string doc = {};
  int64_t min = std::numeric_limits<int64_t>::min();  // kInt only
  int64_t max = std::numeric_limits<int64_t>::max();  // kInt only
  std::vector<std::string> choices = {};              // kEnum only
  // Extra check of the text after the type check (e.g. host:port syntax).
  // Returns an error message naming what is wrong, without the key.
  std::function<absl::Status(std::string_view)> validator = nullptr;
};

class ConfigDef {
 public:
  // Adds a key. Defining a name twice or giving an invalid default is a bug
  // and aborts.
  ConfigDef& Define(ConfigKey key);

  const ConfigKey* Find(std::string_view name) const;
  std::span<const ConfigKey> keys() const { return keys_; }

  // Checks `value` against key `name` as the loader would; the error names
  // the key. Used for topic-level configs too.
  absl::Status Validate(std::string_view name, std::string_view value) const;

 private:
  std::vector<ConfigKey> keys_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// A fully validated configuration: every key of its ConfigDef has a value.
// Getters take a key name; asking for an undeclared key or with the wrong
// type is a programming error and aborts.
class Config {
 public:
  // `file_name` labels errors from `properties_text` (empty name and text when
  // there is no file). `overrides` are "key=value" strings from the command
  // line.
  static absl::StatusOr<Config> Load(const ConfigDef& def, std::string_view file_name,
                                     std::string_view properties_text,
                                     std::span<const std::string> overrides);

  int64_t GetInt(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  const std::string& GetString(std::string_view name) const;  // kString and kEnum
  std::vector<std::string> GetList(std::string_view name) const;

  // True when the value came from the file or an override, not a default.
  bool IsExplicit(std::string_view name) const;

 private:
  struct Value {
    std::string text;
    bool explicit_value = false;
  };

  explicit Config(const ConfigDef* def) : def_(def) {}
  const Value& Get(std::string_view name, ConfigType type) const;

  const ConfigDef* def_;
  absl::flat_hash_map<std::string, Value> values_;
};

// Splits a properties file into (key, value, line number) entries, with the
// syntax described at the top of this file.
struct PropertyEntry {
  std::string key;
  std::string value;
  int line = 0;
};
absl::StatusOr<std::vector<PropertyEntry>> ParseProperties(std::string_view file_name,
                                                           std::string_view text);

// A Markdown table of `def`'s keys: name, type, default (or "required"),
// allowed values and documentation. docs/configuration.md is built from
// these tables.
std::string RenderConfigTable(const ConfigDef& def);

// Validators for common shapes of string values.
absl::Status ValidateHostPort(std::string_view value);      // "host:port", port 0..65535
absl::Status ValidateHostPortList(std::string_view value);  // "h:p,h:p", at least one

}  // namespace samsa
