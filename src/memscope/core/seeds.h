#pragma once
// Seeds: every random choice of a run derives from the root seed through derive_seed, so a run is
// reproducible from its configuration and independent streams never share a seed.
#include <ATen/CPUGeneratorImpl.h>
#include <cstdint>
#include <initializer_list>

namespace memscope {

/// SplitMix64 finaliser: a bijective 64-bit mix.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Stream tags: one per kind of random choice.
enum class SeedTag : uint64_t { kBinarize = 1, kPermutation, kJob, kInit, kShuffle, kNoise, kEval, kAugment, kSubset };

/// Seed of the stream (tag, ids...) below root.
inline uint64_t derive_seed(uint64_t root, SeedTag tag, std::initializer_list<uint64_t> ids = {}) {
  uint64_t s = mix64(root ^ mix64(static_cast<uint64_t>(tag)));
  for (uint64_t id : ids) s = mix64(s ^ mix64(id + 0x632BE59BD9B4E019ULL));
  // LibTorch's CPU generator takes any 64-bit seed; keep it below 2^63 for JSON round trips.
  return s >> 1;
}

/// A CPU generator seeded with seed.
inline at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

}  // namespace memscope
