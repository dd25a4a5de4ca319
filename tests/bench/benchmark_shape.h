// The shape of VMA's virtual-block benchmark, shared by vma_core_bench (virtual_block_bench.cpp)
// and the two-version driver (core_ab.cpp): 7,200 allocations of 1–2,056 units drawn with a fixed
// seed, a block of 2.5 × their sum, 14,400 random draws, and the thread CPU clock the phases are
// timed with.
#pragma once

#include <cstdint>
#include <ctime>
#include <vector>

namespace bench_shape {

constexpr std::size_t kAllocationCount = 7200;
constexpr std::uint32_t kMaxAllocationSize = 2056;
constexpr std::size_t kRandomOperationCount = kAllocationCount * 2;
constexpr std::uint64_t kSeed = 20092010;

// Small, fast generator (xorshift64*). The random phase's numbers are drawn before it is timed
// (MakeRandomOps).
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

// One operation of the random phase: allocate `size` units into `slot`, which is free, or free
// the slot's allocation (size 0).
struct RandomOp {
    std::uint32_t slot;
    std::uint32_t size;
};

// The random phase's operations: kRandomOperationCount draws (seed kSeed + 1); odd → allocate into
// the drawn slot if it is free (the slot's size from `sizes`), even → free it if it is live. Drawn
// before the phase is timed, with every slot live at the start (as after the initial phase), and
// only the draws that do something kept, with the size to allocate: the timed loop is then the
// allocator's calls, one sequential read per operation and the slot that holds the handle,
// whichever allocator runs it.
inline std::vector<RandomOp> MakeRandomOps(const std::vector<std::uint64_t>& sizes) {
    Rng rng{kSeed + 1};
    std::vector<bool> live(kAllocationCount, true);
    std::vector<RandomOp> ops;
    ops.reserve(kRandomOperationCount);
    for (std::size_t op = 0; op < kRandomOperationCount; ++op) {
        const std::uint32_t r = rng.Next();
        const auto i = static_cast<std::uint32_t>(rng.Next() % kAllocationCount);
        if ((r & 1u) == live[i]) continue;  // allocate into a live slot, or free a free one: nothing
        ops.push_back({i, live[i] ? 0u : static_cast<std::uint32_t>(sizes[i])});
        live[i] = !live[i];
    }
    return ops;
}

// The random phase over `ops` (MakeRandomOps). A slot holds a handle, 0 when free.
// allocate(size, &handle) returns false when the allocation fails; the phase then stops and
// returns false. Callables, so that each caller's calls are inlined as if written here.
template <class Allocate, class Free>
inline bool RandomPhase(const std::vector<RandomOp>& ops, std::vector<std::uint64_t>& slots, Allocate&& allocate,
                        Free&& free) {
    for (const RandomOp& op : ops) {
        std::uint64_t& slot = slots[op.slot];
        if (op.size != 0) {
            if (!allocate(op.size, &slot)) return false;
        } else {
            free(slot);
            slot = 0;
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
