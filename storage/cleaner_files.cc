#include "storage/cleaner_files.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa::storage {
namespace {

// The lines of a version-0 file, or nullopt when it does not exist.
absl::StatusOr<std::optional<std::vector<int64_t>>> LoadNumbers(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(bool exists, env->FileExists(path));
  if (!exists) return std::nullopt;
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != "0") {
    return absl::DataLossError(absl::StrCat(path, ": missing or unknown version"));
  }
  std::vector<int64_t> numbers;
  for (size_t i = 1; i < lines.size(); ++i) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(lines[i], &n) || n < 0) {
      return absl::DataLossError(absl::StrCat(path, ": bad line '", lines[i], "'"));
    }
    numbers.push_back(n);
  }
  return numbers;
}

}  // namespace

absl::StatusOr<std::optional<Offset>> LoadCleanOffset(Env* env, const std::string& dir) {
  const std::string path = JoinPath(dir, kCleanerCheckpointFile);
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> numbers, LoadNumbers(env, path));
  if (!numbers.has_value()) return std::nullopt;
  if (numbers->size() != 1) {
    return absl::DataLossError(absl::StrCat(path, ": expected one offset"));
  }
  return Offset(numbers->front());
}

absl::Status StoreCleanOffset(Env* env, const std::string& dir, Offset offset) {
  return env->WriteFileAtomically(JoinPath(dir, kCleanerCheckpointFile),
                                  absl::StrCat("0\n", offset.value(), "\n"));
}

absl::StatusOr<std::optional<SwapManifest>> LoadSwapManifest(Env* env, const std::string& dir) {
  const std::string path = JoinPath(dir, kCleanerSwapFile);
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> numbers, LoadNumbers(env, path));
  if (!numbers.has_value()) return std::nullopt;
  const std::vector<int64_t>& n = *numbers;
  if (n.size() < 3 || n[1] < 1 || static_cast<size_t>(n[1]) != n.size() - 2 || n[2] != n[0]) {
    return absl::DataLossError(
        absl::StrCat(path, ": expected a base, a count and that many bases starting with it"));
  }
  SwapManifest m{Offset(n[0]), {}};
  for (size_t i = 2; i < n.size(); ++i) {
    if (i > 2 && n[i] <= n[i - 1]) {
      return absl::DataLossError(absl::StrCat(path, ": replaced bases are not increasing"));
    }
    m.replaced.push_back(Offset(n[i]));
  }
  return m;
}

absl::Status StoreSwapManifest(Env* env, const std::string& dir, const SwapManifest& manifest) {
  std::string text =
      absl::StrCat("0\n", manifest.base.value(), "\n", manifest.replaced.size(), "\n");
  for (Offset base : manifest.replaced) absl::StrAppend(&text, base.value(), "\n");
  return env->WriteFileAtomically(JoinPath(dir, kCleanerSwapFile), text);
}

}  // namespace samsa::storage
