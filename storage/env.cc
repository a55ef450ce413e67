#include "storage/env.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa::storage {

absl::StatusOr<std::string> Env::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenFile(path, OpenMode::kOpenExisting));
  std::string data(file->Size(), '\0');
  ASSIGN_OR_RETURN(
      size_t n,
      file->ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(data.data()), data.size())));
  data.resize(n);
  return data;
}

absl::Status Env::WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    // A leftover .tmp from a crash holds nothing anyone relies on.
    ASSIGN_OR_RETURN(bool exists, FileExists(tmp));
    if (exists) RETURN_IF_ERROR(DeleteFile(tmp));
    ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenFile(tmp, OpenMode::kCreateNew));
    RETURN_IF_ERROR(file->Append(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size())));
    RETURN_IF_ERROR(file->Sync());
  }
  RETURN_IF_ERROR(RenameFile(tmp, path));
  return SyncDir(DirName(path));
}

absl::Status Env::DeleteTree(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(path));
  for (const std::string& name : names) {
    const std::string child = JoinPath(path, name);
    if (absl::Status st = DeleteFile(child); !st.ok()) {
      // Not a file (or not deletable as one): try it as a directory.
      RETURN_IF_ERROR(DeleteTree(child));
    }
  }
  return DeleteDir(path);
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(ToAbsl(dir), ToAbsl(name));
  return absl::StrCat(ToAbsl(dir), "/", ToAbsl(name));
}

std::string DirName(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace samsa::storage
