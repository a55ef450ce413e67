#include "common/config.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa {
namespace {

std::string_view Trim(std::string_view s) { return ToStd(absl::StripAsciiWhitespace(ToAbsl(s))); }

// Checks `text` against the key's type and constraints. The message does not
// name the key; callers prefix it with the key and the value's origin.
absl::Status CheckValue(const ConfigKey& key, std::string_view text) {
  switch (key.type) {
    case ConfigType::kInt: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(ToAbsl(text), &v)) {
        return absl::InvalidArgumentError(absl::StrCat("'", ToAbsl(text), "' is not an integer"));
      }
      if (v < key.min) {
        return absl::InvalidArgumentError(
            absl::StrCat("value ", v, " is below the minimum ", key.min));
      }
      if (v > key.max) {
        return absl::InvalidArgumentError(
            absl::StrCat("value ", v, " is above the maximum ", key.max));
      }
      break;
    }
    case ConfigType::kBool:
      if (text != "true" && text != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("'", ToAbsl(text), "' is not a boolean (true or false)"));
      }
      break;
    case ConfigType::kEnum: {
      bool found = false;
      for (const std::string& c : key.choices) found = found || c == text;
      if (!found) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", ToAbsl(text), "' is not one of: ", absl::StrJoin(key.choices, ", ")));
      }
      break;
    }
    case ConfigType::kString:
    case ConfigType::kList:
      break;
  }
  if (key.validator) return key.validator(text);
  return absl::OkStatus();
}

absl::Status Prefixed(const absl::Status& st, std::string_view origin) {
  return absl::Status(st.code(), absl::StrCat(ToAbsl(origin), ": ", st.message()));
}

}  // namespace

ConfigDef& ConfigDef::Define(ConfigKey key) {
  SAMSA_CHECK(!index_.contains(key.name)) << "config key defined twice: " << key.name;
  if (key.default_value.has_value()) {
    absl::Status st = CheckValue(key, *key.default_value);
    SAMSA_CHECK(st.ok()) << "invalid default for config key " << key.name << ": " << st;
  }
  index_.emplace(key.name, keys_.size());
  keys_.push_back(std::move(key));
  return *this;
}

const ConfigKey* ConfigDef::Find(std::string_view name) const {
  auto it = index_.find(ToAbsl(name));
  return it == index_.end() ? nullptr : &keys_[it->second];
}

absl::Status ConfigDef::Validate(std::string_view name, std::string_view value) const {
  const ConfigKey* key = Find(name);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown config key '", ToAbsl(name), "'"));
  }
  absl::Status st = CheckValue(*key, value);
  if (!st.ok()) return Prefixed(st, absl::StrCat("config key '", ToAbsl(name), "'"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PropertyEntry>> ParseProperties(std::string_view file_name,
                                                           std::string_view text) {
  std::vector<PropertyEntry> entries;
  absl::flat_hash_map<std::string, int> seen;
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(text), '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    const int line_no = static_cast<int>(i) + 1;
    std::string logical(absl::StripTrailingAsciiWhitespace(lines[i]));
    // A trailing backslash joins the next line (its leading space trimmed).
    while (!logical.empty() && logical.back() == '\\' && i + 1 < lines.size()) {
      logical.pop_back();
      ++i;
      absl::StrAppend(&logical, absl::StripAsciiWhitespace(lines[i]));
    }
    std::string_view line = Trim(logical);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;

    const size_t sep = line.find_first_of("=:");
    const std::string origin = absl::StrCat(ToAbsl(file_name), ":", line_no);
    if (sep == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": expected key=value, got '", ToAbsl(line), "'"));
    }
    std::string key(Trim(line.substr(0, sep)));
    if (key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": empty key"));
    }
    if (auto [it, inserted] = seen.emplace(key, line_no); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": config key '", key, "' is also set on line ", it->second));
    }
    entries.push_back({std::move(key), std::string(Trim(line.substr(sep + 1))), line_no});
  }
  return entries;
}

absl::StatusOr<Config> Config::Load(const ConfigDef& def, std::string_view file_name,
                                    std::string_view properties_text,
                                    std::span<const std::string> overrides) {
  Config config(&def);
  auto set = [&](std::string_view key, std::string_view value,
                 std::string_view origin) -> absl::Status {
    const ConfigKey* k = def.Find(key);
    if (k == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(origin), ": unknown config key '", ToAbsl(key), "'"));
    }
    absl::Status st = CheckValue(*k, value);
    if (!st.ok()) {
      return Prefixed(st, absl::StrCat(ToAbsl(origin), ": config key '", ToAbsl(key), "'"));
    }
    config.values_[k->name] = Value{std::string(value), true};
    return absl::OkStatus();
  };

  auto entries = ParseProperties(file_name, properties_text);
  if (!entries.ok()) return entries.status();
  for (const PropertyEntry& e : *entries) {
    if (absl::Status st = set(e.key, e.value, absl::StrCat(ToAbsl(file_name), ":", e.line));
        !st.ok()) {
      return st;
    }
  }
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--override ", o, ": expected key=value"));
    }
    const std::string_view ov(o);
    if (absl::Status st =
            set(Trim(ov.substr(0, eq)), Trim(ov.substr(eq + 1)), absl::StrCat("--override ", o));
        !st.ok()) {
      return st;
    }
  }
  for (const ConfigKey& k : def.keys()) {
    if (config.values_.contains(k.name)) continue;
    if (!k.default_value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing required config key '", k.name, "' (", k.doc, ")"));
    }
    config.values_[k.name] = Value{*k.default_value, false};
  }
  return config;
}

const Config::Value& Config::Get(std::string_view name, ConfigType type) const {
  const ConfigKey* key = def_->Find(name);
  SAMSA_CHECK(key != nullptr) << "undeclared config key " << name;
  SAMSA_CHECK(key->type == type || (type == ConfigType::kString && key->type == ConfigType::kEnum))
      << "config key " << name << " read with the wrong type";
  auto it = values_.find(ToAbsl(name));
  SAMSA_CHECK(it != values_.end()) << "Load() gives every declared key a value: " << name;
  return it->second;
}

int64_t Config::GetInt(std::string_view name) const {
  int64_t v = 0;
  SAMSA_CHECK(absl::SimpleAtoi(Get(name, ConfigType::kInt).text, &v)) << "validated at load";
  return v;
}

bool Config::GetBool(std::string_view name) const {
  return Get(name, ConfigType::kBool).text == "true";
}

const std::string& Config::GetString(std::string_view name) const {
  return Get(name, ConfigType::kString).text;
}

std::vector<std::string> Config::GetList(std::string_view name) const {
  const std::string& text = Get(name, ConfigType::kList).text;
  std::vector<std::string> out;
  if (Trim(text).empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

bool Config::IsExplicit(std::string_view name) const {
  auto it = values_.find(ToAbsl(name));
  SAMSA_CHECK(it != values_.end()) << "undeclared config key " << name;
  return it->second.explicit_value;
}

absl::Status ValidateHostPort(std::string_view value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", ToAbsl(value), "' is not host:port"));
  }
  std::string_view host = value.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') {
    return absl::InvalidArgumentError(
        absl::StrCat("'", ToAbsl(value), "' has an unterminated IPv6 address"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(ToAbsl(value.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", ToAbsl(value), "' has no valid port (0..65535)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateHostPortList(std::string_view value) {
  if (Trim(value).empty()) {
    return absl::InvalidArgumentError("expected at least one host:port");
  }
  for (absl::string_view part : absl::StrSplit(ToAbsl(value), ',')) {
    absl::string_view p = absl::StripAsciiWhitespace(part);
    RETURN_IF_ERROR(ValidateHostPort(ToStd(p)));
  }
  return absl::OkStatus();
}

std::string RenderConfigTable(const ConfigDef& def) {
  std::string out =
      "| key | type | default | allowed | meaning |\n| --- | --- | --- | --- | --- |\n";
  for (const ConfigKey& k : def.keys()) {
    std::string type, allowed;
    switch (k.type) {
      case ConfigType::kInt:
        type = "int";
        if (k.min != std::numeric_limits<int64_t>::min()) allowed = absl::StrCat(">= ", k.min);
        if (k.max != std::numeric_limits<int64_t>::max()) {
          absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", "<= ", k.max);
        }
        break;
      case ConfigType::kBool:
        type = "bool";
        allowed = "true, false";
        break;
      case ConfigType::kString:
        type = "string";
        break;
      case ConfigType::kEnum:
        type = "enum";
        allowed = absl::StrJoin(k.choices, ", ");
        break;
      case ConfigType::kList:
        type = "list";
        break;
    }
    const std::string def_text = !k.default_value.has_value() ? "*required*"
                                 : k.default_value->empty()
                                     ? "(empty)"
                                     : absl::StrCat("`", *k.default_value, "`");
    absl::StrAppend(&out, "| `", k.name, "` | ", type, " | ", def_text, " | ", allowed, " | ",
                    k.doc, " |\n");
  }
  return out;
}

}  // namespace samsa
