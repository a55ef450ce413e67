// Runs a libFuzzer target without libFuzzer, so every build (g++ included)
// exercises it under ctest: each file named on the command line is fed as
// is, then `--mutations N` deterministic mutations of each (byte flips,
// truncations, splices, length-field stomps). Real fuzzing uses the clang
// build with -fsanitize=fuzzer (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  // A heap copy of exactly the input's size, so ASan catches any overread.
  std::vector<uint8_t> copy(input.begin(), input.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

std::string Mutate(std::string s, std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0:  // flip bits
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n && !s.empty(); ++i) {
        s[rng() % s.size()] ^= static_cast<char>(1 << (rng() % 8));
      }
      break;
    case 1:  // truncate
      if (!s.empty()) s.resize(rng() % s.size());
      break;
    case 2:  // stomp a 4-byte field with an extreme value
      if (s.size() >= 4) {
        const uint32_t values[] = {0, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, 1};
        const uint32_t v = values[rng() % 5];
        std::memcpy(&s[rng() % (s.size() - 3)], &v, 4);
      }
      break;
    case 3:  // duplicate a slice
      if (!s.empty()) {
        const size_t a = rng() % s.size();
        s.insert(rng() % s.size(), s.substr(a, rng() % (s.size() - a)));
      }
      break;
    default:  // random bytes in a run
      for (size_t i = 0, n = rng() % 16; i < n && !s.empty(); ++i) {
        s[rng() % s.size()] = static_cast<char>(rng());
      }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 1000;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mutations") == 0 && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
      continue;
    }
    std::ifstream f(argv[i], std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "cannot read seed %s\n", argv[i]);
      return 2;
    }
    seeds.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  if (seeds.empty()) seeds.emplace_back();
  std::mt19937_64 rng(0x5a115a);
  long runs = 0;
  for (const std::string& seed : seeds) {
    Run(seed);
    std::string current = seed;
    for (long i = 0; i < mutations; ++i, ++runs) {
      current = (rng() % 4 == 0) ? Mutate(seed, rng) : Mutate(current, rng);
      if (current.size() > (1 << 20)) current = seed;
      Run(current);
    }
  }
  std::printf("%zu seeds, %ld mutated runs, no crash\n", seeds.size(), runs);
  return 0;
}
