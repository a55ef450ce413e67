// TempDir: a fresh directory for tests and benchmarks, under
// $SAMSA_TEST_DIR (else $TMPDIR, else /tmp; point it at the disk to
// measure), removed with everything in it when the TempDir is destroyed.
// Creating one that cannot be made is a broken test setup and aborts.
#pragma once

#include <string>
#include <string_view>

namespace samsa::storage {

class TempDir {
 public:
  // The directory's name starts with "samsa-<tag>-".
  explicit TempDir(std::string_view tag = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace samsa::storage
