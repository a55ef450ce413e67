// The CLI's JSON output (--output json). JSON strings are UTF-8, and what
// the CLI prints often is not: record keys and values are whatever bytes
// producers sent, group and client ids whatever clients chose.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace samsa::tools {

bool IsValidUtf8(std::string_view s);

// A record's key or value: null, the bytes as a string when they are valid
// UTF-8, else {"base64": "..."}, so binary data comes through unchanged.
nlohmann::json RecordBytes(const std::optional<std::string>& bytes);

// Prints `doc` on one line. Any other string that is not valid UTF-8 has
// its bad bytes replaced by U+FFFD rather than failing the command.
void PrintJson(std::ostream& out, const nlohmann::json& doc);

}  // namespace samsa::tools
