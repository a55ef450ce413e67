// StrongInt: an integer that cannot be mixed with integers of another meaning.
//
// An Offset is not a Term, and a NodeId is not a PartitionId, even though all
// are integers on the wire. Each StrongInt<Tag, Rep> is its own type:
// construction from Rep is explicit, values of two different tags do not
// compare or add, and `value()` is the only way back to a plain integer
// (style rule 11 in docs/development.md, after Redpanda's named_type).
//
// Arithmetic kept on purpose: a strong value plus or minus a plain delta
// (offset + 1) stays strong; the difference of two strong values is a plain
// delta (end - start = count).
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>

namespace samsa {

template <typename Tag, std::integral Rep>
class StrongInt {
 public:
  using rep_type = Rep;

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : value_(v) {}

  constexpr Rep value() const { return value_; }

  static constexpr StrongInt Max() { return StrongInt(std::numeric_limits<Rep>::max()); }

  friend constexpr auto operator<=>(StrongInt, StrongInt) = default;

  friend constexpr StrongInt operator+(StrongInt a, Rep delta) {
    return StrongInt(a.value_ + delta);
  }
  friend constexpr StrongInt operator-(StrongInt a, Rep delta) {
    return StrongInt(a.value_ - delta);
  }
  friend constexpr Rep operator-(StrongInt a, StrongInt b) { return a.value_ - b.value_; }
  constexpr StrongInt& operator+=(Rep delta) {
    value_ += delta;
    return *this;
  }
  constexpr StrongInt& operator++() {
    ++value_;
    return *this;
  }

  template <typename H>
  friend H AbslHashValue(H h, StrongInt v) {
    return H::combine(std::move(h), v.value_);
  }

  friend std::ostream& operator<<(std::ostream& os, StrongInt v) {
    // Print int8 reps as numbers, not characters.
    return os << +v.value_;
  }

 private:
  Rep value_ = 0;
};

}  // namespace samsa

template <typename Tag, typename Rep>
struct std::hash<samsa::StrongInt<Tag, Rep>> {
  size_t operator()(samsa::StrongInt<Tag, Rep> v) const { return std::hash<Rep>()(v.value()); }
};
