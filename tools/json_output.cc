#include "tools/json_output.h"

#include <cstdint>

#include "absl/strings/escaping.h"

namespace samsa::tools {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Length and the range of the second byte (RFC 3629 §4): no overlong
    // forms, no surrogates, nothing above U+10FFFF.
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    const uint8_t second = static_cast<uint8_t>(s[i + 1]);
    if (second < lo || second > hi) return false;
    for (size_t k = 2; k < n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

nlohmann::json RecordBytes(const std::optional<std::string>& bytes) {
  if (!bytes.has_value()) return nullptr;
  if (IsValidUtf8(*bytes)) return *bytes;
  return {{"base64", absl::Base64Escape(*bytes)}};
}

void PrintJson(std::ostream& out, const nlohmann::json& doc) {
  out << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace samsa::tools
