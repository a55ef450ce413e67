// Buffer: an owned byte array that is not zeroed when allocated, so a read
// fills it straight from the page cache in one pass (std::string and
// std::vector would first write zeros over every byte). Move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/logging.h"

namespace samsa::storage {

class Buffer {
 public:
  Buffer() = default;
  // `size` bytes of unspecified contents.
  explicit Buffer(size_t size)
      : data_(size > 0 ? std::make_unique_for_overwrite<uint8_t[]>(size) : nullptr), size_(size) {}

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Forgets the bytes past `size` (no reallocation).
  void Shrink(size_t size) {
    SAMSA_CHECK(size <= size_) << "a buffer only shrinks";
    size_ = size;
  }

  std::span<const uint8_t> span() const { return {data_.get(), size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_.get()), size_}; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

}  // namespace samsa::storage
