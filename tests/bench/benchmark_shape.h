// The shape of VMA's virtual-block benchmark, shared by vma_core_bench (virtual_block_bench.cpp)
// and the two-version driver (core_ab.cpp): 7,200 allocations of 1–2,056 units drawn with a fixed
// seed, a block of 2.5 × their sum, 14,400 random operations, and the thread CPU clock the phases
// are timed with.
#pragma once

#include <cstdint>
#include <ctime>
#include <vector>

namespace bench_shape {

constexpr std::size_t kAllocationCount = 7200;
constexpr std::uint32_t kMaxAllocationSize = 2056;
constexpr std::size_t kRandomOperationCount = kAllocationCount * 2;
constexpr std::uint64_t kSeed = 20092010;

// Small, fast generator (xorshift64*): the random phase's time includes drawing the numbers.
struct Rng {
    std::uint64_t state;
    std::uint32_t Next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return static_cast<std::uint32_t>((state * 0x2545F4914F6CDD1DULL) >> 32);
    }
};

// The allocation sizes (seed kSeed) and the block size, 2.5 × their sum.
struct Sizes {
    std::vector<std::uint64_t> sizes;
    std::uint64_t blockSize = 0;
};
inline Sizes MakeSizes() {
    Rng rng{kSeed};
    Sizes s;
    s.sizes.resize(kAllocationCount);
    std::uint64_t sum = 0;
    for (std::uint64_t& size : s.sizes) {
        size = rng.Next() % kMaxAllocationSize + 1;
        sum += size;
    }
    s.blockSize = sum * 5 / 2;
    return s;
}

// The random phase: kRandomOperationCount draws (seed kSeed + 1); odd → allocate into the drawn slot
// if it is free, even → free it if it is live. A slot holds a handle, 0 when free.
// allocate(slot, &handle) returns false when the allocation fails; the phase then stops and returns
// false. Callables, so that each caller's calls are inlined as if written here.
template <class Allocate, class Free>
inline bool RandomPhase(std::vector<std::uint64_t>& slots, Allocate&& allocate, Free&& free) {
    Rng rng{kSeed + 1};
    for (std::size_t op = 0; op < kRandomOperationCount; ++op) {
        const std::uint32_t r = rng.Next();
        const std::size_t i = rng.Next() % kAllocationCount;
        if (r & 1u) {
            if (slots[i] == 0 && !allocate(i, &slots[i])) return false;
        } else if (slots[i] != 0) {
            free(slots[i]);
            slots[i] = 0;
        }
    }
    return true;
}

// The free-all phase: every live slot freed, last slot first. Returns how many were live.
template <class Free>
inline std::size_t FreeAll(std::vector<std::uint64_t>& slots, Free&& free) {
    std::size_t live = 0;
    for (std::size_t i = kAllocationCount; i-- > 0;) {
        if (slots[i] != 0) {
            free(slots[i]);
            slots[i] = 0;
            ++live;
        }
    }
    return live;
}

// Phases are timed with the thread's CPU clock: on a shared 2-core machine wall time also counts
// the time other processes hold the core.
inline double ThreadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace bench_shape
