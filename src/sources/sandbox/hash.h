// Stateless hashing for the sandbox bank. Every generated value is a pure function of
// (seed, account, day, position), computed with these mixers, so a day's transactions never
// depend on which other days were generated before: the same range always gives the same
// bytes, and [a, b] followed by [b + 1, c] equals [a, c].
#pragma once

#include <cstdint>
#include <string_view>

namespace finsync::sources::sandbox {

// The SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijection on 64 bits whose outputs
// pass BigCrush for consecutive inputs, which is all the sandbox needs.
constexpr uint64_t Mix64(uint64_t value) {
  value += 0x9E37'79B9'7F4A'7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D0'49BB'1331'11EBULL;
  return value ^ (value >> 31);
}

// Order matters: HashCombine(a, b) != HashCombine(b, a), so (account 1, day 2) and
// (account 2, day 1) draw different numbers.
constexpr uint64_t HashCombine(uint64_t left, uint64_t right) {
  return Mix64(left ^ Mix64(right + 0x632B'E59B'D9B4'E019ULL));
}

// FNV-1a over the bytes, then mixed: turns references and ids into seeds.
constexpr uint64_t HashText(std::string_view text) {
  uint64_t hash = 0xCBF2'9CE4'8422'2325ULL;
  for (const char byte : text) {
    hash ^= static_cast<uint8_t>(byte);
    hash *= 0x0000'0100'0000'01B3ULL;
  }
  return Mix64(hash);
}

// A uniform integer in [0, bound) from a 64-bit hash (Lemire's multiply-shift; the bias is
// below 2^-40 for the small bounds used here). bound must be positive.
constexpr uint64_t Below(uint64_t hash, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(hash) * bound) >> 64);
}

// A uniform integer in [low, high]. Requires low <= high.
constexpr int64_t Between(uint64_t hash, int64_t low, int64_t high) {
  return low + static_cast<int64_t>(Below(hash, static_cast<uint64_t>(high - low) + 1));
}

// True with probability numerator / denominator.
constexpr bool Chance(uint64_t hash, uint64_t numerator, uint64_t denominator) {
  return Below(hash, denominator) < numerator;
}

// A sequence of draws for one (account, day) or one transaction. It is stateful, but only
// within the unit it was created for; a new Draws is seeded from a hash for each unit.
class Draws {
 public:
  explicit constexpr Draws(uint64_t seed) : seed_(seed) {}
  constexpr uint64_t Next() { return Mix64(seed_ + 0x9E37'79B9'7F4A'7C15ULL * ++count_); }
  constexpr int64_t Between(int64_t low, int64_t high) {
    return sandbox::Between(Next(), low, high);
  }
  constexpr uint64_t Below(uint64_t bound) { return sandbox::Below(Next(), bound); }
  constexpr bool Chance(uint64_t numerator, uint64_t denominator) {
    return sandbox::Chance(Next(), numerator, denominator);
  }

 private:
  uint64_t seed_;
  uint64_t count_ = 0;
};

}  // namespace finsync::sources::sandbox
