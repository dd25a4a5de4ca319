// Two versions of the allocator core in one binary, on the VirtualBlock benchmark's shape
// (virtual_block_bench.cpp), run alternately so that both see the same machine: on a shared
// machine two separately built binaries differ by code placement and by the load of the moment
// more than most changes do. Built and run by scripts/core-ab.sh, which compiles each version's
// src/ in its own namespace (-Dvma=vmaA, -Dvma=vmaB) and names their headers here.
//
//   core_ab ITERATIONS FLAGS ALIGNMENT [linear]
// prints, per phase, each version's median and fastest time and B ÷ A of both (TLSF blocks, or
// linear ones with "linear").
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark_shape.h"

#define vma vmaA
#include VMA_AB_HEADER_A
#undef vma
#define vma vmaB
#include VMA_AB_HEADER_B
#undef vma

namespace {

using bench_shape::kAllocationCount;
using bench_shape::ThreadCpuNs;

struct Times {
    double allocNs, randomMs, freeNs;
};

// One iteration of the benchmark: initial allocations, random phase, free-all (last slot first).
template <class Block, class Info>
__attribute__((noinline)) Times Run(const std::vector<std::uint64_t>& sizes, std::uint64_t blockSize,
                                    std::uint64_t alignment, std::uint32_t flags, bool linear,
                                    const std::vector<bench_shape::RandomOp>& ops, std::vector<std::uint64_t>& h) {
    Info info;
    info.size = blockSize;
    using AlgorithmOf = decltype(info.algorithm);
    info.algorithm = linear ? AlgorithmOf::kLinear : AlgorithmOf::kTlsf;
    Block block(info);
    std::uint64_t offset = 0;
    const double t0 = ThreadCpuNs();
    for (std::size_t i = 0; i < kAllocationCount; ++i) {
        if (!block.Allocate(sizes[i], alignment, flags, &h[i], &offset)) std::abort();
    }
    const double t1 = ThreadCpuNs();
    if (!bench_shape::RandomPhase(
            ops, h,
            [&](std::uint64_t size, std::uint64_t* handle) {
                return block.Allocate(size, alignment, flags, handle, &offset);
            },
            [&](std::uint64_t handle) { block.Free(handle); })) {
        std::abort();
    }
    const double t2 = ThreadCpuNs();
    const std::size_t live = bench_shape::FreeAll(h, [&](std::uint64_t handle) { block.Free(handle); });
    const double t3 = ThreadCpuNs();
    if (!block.IsEmpty()) std::abort();
    return {(t1 - t0) / kAllocationCount, (t2 - t1) / 1e6, live ? (t3 - t2) / static_cast<double>(live) : 0.0};
}

double Median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double Fastest(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

}  // namespace

int main(int argc, char** argv) {
    const bool linear = argc == 5 && std::string(argv[4]) == "linear";
    if (argc != 4 && !linear) {
        std::fprintf(stderr, "usage: %s ITERATIONS FLAGS ALIGNMENT [linear]\n", argv[0]);
        return 2;
    }
    const int iterations = std::atoi(argv[1]);
    const auto flags = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 0));
    const std::uint64_t alignment = std::strtoull(argv[3], nullptr, 0);
    if (iterations < 1) return 2;
    // Keep freed memory in the heap: each iteration builds and drops a block per version, and
    // trimming or unmapping in between would add page faults to the next one's initial phase.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    const bench_shape::Sizes shape = bench_shape::MakeSizes();
    const std::vector<bench_shape::RandomOp> ops = bench_shape::MakeRandomOps(shape.sizes);
    std::vector<std::uint64_t> handles(kAllocationCount);
    std::vector<double> t[2][3];
    for (int it = 0; it < iterations; ++it) {
        for (int k = 0; k < 2; ++k) {
            const int version = (it & 1) ? 1 - k : k;  // A first on even iterations, B first on odd
            const Times r = version == 0 ? Run<vmaA::core::VirtualBlock, vmaA::core::VirtualBlockCreateInfo>(
                                               shape.sizes, shape.blockSize, alignment, flags, linear, ops, handles)
                                         : Run<vmaB::core::VirtualBlock, vmaB::core::VirtualBlockCreateInfo>(
                                               shape.sizes, shape.blockSize, alignment, flags, linear, ops, handles);
            t[version][0].push_back(r.allocNs);
            t[version][1].push_back(r.randomMs);
            t[version][2].push_back(r.freeNs);
        }
    }
    const char* names[3] = {"alloc_ns", "random_ms", "free_ns"};
    std::printf("%sflags=%s align=%s", linear ? "linear " : "", argv[2], argv[3]);
    for (int p = 0; p < 3; ++p) {
        std::printf(" | %s A %.3f (%.3f) B %.3f (%.3f) B/A %.3f (%.3f)", names[p], Median(t[0][p]), Fastest(t[0][p]),
                    Median(t[1][p]), Fastest(t[1][p]), Median(t[1][p]) / Median(t[0][p]),
                    Fastest(t[1][p]) / Fastest(t[0][p]));
    }
    std::printf("\n");
    return 0;
}
