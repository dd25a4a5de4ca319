// VirtualBlock benchmark in the shape of VMA's TestVirtualBlocksAlgorithmsBenchmark (src/Tests.cpp):
//   7,200 allocations of 1–2,056 units (uniform), block = 2.5 × their sum;
//   initial phase: allocate all of them in order;
//   random phase: 14,400 draws of a random number and a random slot: odd → allocate into the slot
//     if it is free, even → free the slot if it is live (so the block heads for half full, as in
//     VMA). The draws are made before the phase is timed (bench_shape::MakeRandomOps), and the
//     timed loop runs the 7,298 that do something (2,127 allocations, 5,171 frees): the
//     allocators' time, not the generator's;
//   free-all phase: free every live allocation, last slot first.
// Every algorithm and TLSF strategy at alignments 1, 16, 64, 256, with a fixed seed.
//
// Counters (per benchmark iteration, averaged):
//   alloc_ns   ns per allocation in the initial phase
//   free_ns    ns per free in the free-all phase
//   loop_ns    the free-all phase's loop by itself, per live slot: the same walk over the same
//              slots with an empty out-of-line call in place of Free (the slot test mispredicts
//              about once per live slot). Any allocator measured in this shape pays it; inside
//              free_ns part of it overlaps the frees, so free_ns − loop_ns is not Free's cost.
//   random_ms  ms for the whole random phase
//   random_op_ns  ns per operation of the random phase (per allocation or free it makes, 7,298)
//   random_loop_ms  the random phase's loop by itself: the same operations on the same slots,
//              empty out-of-line calls in place of Allocate and Free. Like loop_ns, a floor any
//              allocator measured in this shape pays, not to be subtracted.
//   frag       after the random phase: 1 − largest free range ÷ free units
//   span       after the random phase: end of the highest live allocation ÷ live units
//   free_ranges  after the random phase: how many free ranges the block has (the free tail counts)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark_shape.h"
#include "virtual_block.h"

namespace {

using bench_shape::kAllocationCount;
using vma::core::Algorithm;
using vma::core::AllocHandle;
using vma::core::kNullHandle;
using vma::core::RangeInfo;
using vma::core::Size;
using vma::core::VirtualBlock;
using vma::core::VirtualBlockCreateInfo;

// The free-all loop's stand-in for VirtualBlock::Free: a call that does nothing the optimiser can see
// through.
__attribute__((noinline)) void NoFree(VirtualBlock* block, AllocHandle handle) {
    asm volatile("" : : "r"(block), "r"(handle) : "memory");
}

// The random loop's stand-in for VirtualBlock::Allocate: hands out a non-null handle and does nothing
// else the optimiser can see through.
__attribute__((noinline)) AllocHandle NoAllocate(VirtualBlock* block, Size size, Size alignment, std::uint32_t flags,
                                                 Size* offset) {
    asm volatile("" : : "r"(block), "r"(size), "r"(alignment), "r"(flags) : "memory");
    *offset = 0;
    return AllocHandle{1};
}

struct Case {
    std::string name;
    Algorithm algorithm;
    std::uint32_t flags;
};

void BM_VirtualBlock(benchmark::State& state, Algorithm algorithm, std::uint32_t flags, Size alignment) {
    const bench_shape::Sizes shape = bench_shape::MakeSizes();
    const std::vector<Size>& sizes = shape.sizes;
    const Size blockSize = shape.blockSize;
    const std::vector<bench_shape::RandomOp> ops = bench_shape::MakeRandomOps(shape.sizes);

    double allocNs = 0, freeNs = 0, loopNs = 0, randomMs = 0, randomLoopMs = 0, frag = 0, span = 0, freeRanges = 0;
    std::vector<AllocHandle> handles(kAllocationCount);
    std::vector<AllocHandle> liveSlots(kAllocationCount);
    for (auto _ : state) {
        VirtualBlockCreateInfo info;
        info.size = blockSize;
        info.algorithm = algorithm;
        VirtualBlock block(info);
        Size offset = 0;

        auto t0 = bench_shape::ThreadCpuNs();
        for (std::size_t i = 0; i < kAllocationCount; ++i) {
            if (!block.Allocate(sizes[i], alignment, flags, &handles[i], &offset)) {
                state.SkipWithError("initial allocation failed");
                return;
            }
        }
        auto t1 = bench_shape::ThreadCpuNs();
        const bool randomOk = bench_shape::RandomPhase(
            ops, handles,
            [&](Size size, AllocHandle* handle) {
                return block.Allocate(size, alignment, flags, handle, &offset);
            },
            [&](AllocHandle handle) { block.Free(handle); });
        auto t2 = bench_shape::ThreadCpuNs();
        if (!randomOk) {
            state.SkipWithError("random-phase allocation failed");
            return;
        }

        // Fragmentation and span, outside the timed phases.
        Size largestFree = 0, highestEnd = 0, live = 0;
        std::size_t freeRangeCount = 0;
        block.Walk([&](const RangeInfo& r) {
            if (r.free) {
                ++freeRangeCount;
                if (r.size > largestFree) largestFree = r.size;
            } else {
                highestEnd = r.offset + r.size;
            }
        });
        std::size_t liveCount = 0;
        for (std::size_t i = 0; i < kAllocationCount; ++i) {
            if (handles[i] != kNullHandle) {
                live += sizes[i];
                ++liveCount;
            }
        }
        const Size freeUnits = block.GetStatistics().blockBytes - block.GetStatistics().allocationBytes;

        liveSlots = handles;

        auto t3 = bench_shape::ThreadCpuNs();
        bench_shape::FreeAll(handles, [&](AllocHandle handle) { block.Free(handle); });
        auto t4 = bench_shape::ThreadCpuNs();
        if (!block.IsEmpty()) {
            state.SkipWithError("block not empty after freeing everything");
            return;
        }
        auto t5 = bench_shape::ThreadCpuNs();
        bench_shape::FreeAll(liveSlots, [&](AllocHandle handle) { NoFree(&block, handle); });
        auto t6 = bench_shape::ThreadCpuNs();
        // The random phase again, without the allocator: every slot live, as after the initial phase.
        std::fill(liveSlots.begin(), liveSlots.end(), AllocHandle{1});
        auto t7 = bench_shape::ThreadCpuNs();
        bench_shape::RandomPhase(
            ops, liveSlots,
            [&](Size size, AllocHandle* handle) {
                *handle = NoAllocate(&block, size, alignment, flags, &offset);
                return true;
            },
            [&](AllocHandle handle) { NoFree(&block, handle); });
        auto t8 = bench_shape::ThreadCpuNs();

        allocNs += (t1 - t0) / kAllocationCount;
        randomMs += (t2 - t1) / 1e6;
        randomLoopMs += (t8 - t7) / 1e6;
        freeNs += liveCount ? (t4 - t3) / static_cast<double>(liveCount) : 0.0;
        loopNs += liveCount ? (t6 - t5) / static_cast<double>(liveCount) : 0.0;
        frag += freeUnits ? 1.0 - static_cast<double>(largestFree) / static_cast<double>(freeUnits) : 0.0;
        freeRanges += static_cast<double>(freeRangeCount);
        span += live ? static_cast<double>(highestEnd) / static_cast<double>(live) : 0.0;
    }
    const double n = static_cast<double>(state.iterations());
    state.counters["alloc_ns"] = allocNs / n;
    state.counters["free_ns"] = freeNs / n;
    state.counters["loop_ns"] = loopNs / n;
    state.counters["random_ms"] = randomMs / n;
    state.counters["random_op_ns"] = randomMs / n * 1e6 / static_cast<double>(ops.size());
    state.counters["random_loop_ms"] = randomLoopMs / n;
    state.counters["frag"] = frag / n;
    state.counters["span"] = span / n;
    state.counters["free_ranges"] = freeRanges / n;
}

const bool kRegistered = [] {
    const Case cases[] = {
        {"tlsf_default", Algorithm::kTlsf, 0},
        {"tlsf_min_time", Algorithm::kTlsf, vma::core::kAllocStrategyMinTime},
        {"tlsf_min_memory", Algorithm::kTlsf, vma::core::kAllocStrategyMinMemory},
        {"linear", Algorithm::kLinear, 0},
        {"buddy", Algorithm::kBuddy, 0},
    };
    for (Size alignment : {Size{1}, Size{16}, Size{64}, Size{256}}) {
        for (const Case& c : cases) {
            const std::string name = "VirtualBlock/" + c.name + "/align:" + std::to_string(alignment);
            benchmark::RegisterBenchmark(name.c_str(), BM_VirtualBlock, c.algorithm, c.flags, alignment)
                ->Unit(benchmark::kMillisecond);
        }
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
