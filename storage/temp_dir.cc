#include "storage/temp_dir.h"

#include <stdlib.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/string_view.h"
#include "storage/env.h"

namespace samsa::storage {

TempDir::TempDir(std::string_view tag) {
  const char* base = std::getenv("SAMSA_TEST_DIR");
  if (base == nullptr) base = std::getenv("TMPDIR");
  path_ = absl::StrCat(base != nullptr ? base : "/tmp", "/samsa-", ToAbsl(tag), "-XXXXXX");
  SAMSA_CHECK(mkdtemp(path_.data()) != nullptr) << "cannot create a directory " << path_;
}

TempDir::~TempDir() { (void)Env::Default()->DeleteTree(path_); }

}  // namespace samsa::storage
