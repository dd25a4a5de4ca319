// Unit tests of VirtualBlock (the VmaVirtualBlock equivalent) over every algorithm.
#include "virtual_block.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "tlsf_metadata.h"

namespace vma::core {
namespace {

const char* Name(Algorithm a) {
    switch (a) {
        case Algorithm::kTlsf:
            return "tlsf";
        case Algorithm::kLinear:
            return "linear";
        case Algorithm::kBuddy:
            return "buddy";
    }
    return "?";
}

class VirtualBlockTest : public ::testing::TestWithParam<Algorithm> {};

TEST_P(VirtualBlockTest, FactoryProvidesTheAlgorithm) {
    // Every algorithm must exist: a missing one is a failure, not a skip.
    EXPECT_NE(CreateMetadata(GetParam()), nullptr) << Name(GetParam());
}

TEST_P(VirtualBlockTest, AllocateFreeAndQuery) {
    VirtualBlockCreateInfo info;
    info.size = 1 << 20;
    info.algorithm = GetParam();
    VirtualBlock block(info);
    EXPECT_TRUE(block.IsEmpty());
    int tags[3];
    AllocHandle h[3];
    Size off[3];
    ASSERT_TRUE(block.Allocate(1000, 0, 0, &h[0], &off[0], &tags[0]));  // alignment 0 means 1
    ASSERT_TRUE(block.Allocate(64, 64, 0, &h[1], &off[1], &tags[1]));
    ASSERT_TRUE(block.Allocate(4096, 256, 0, &h[2], &off[2], &tags[2]));
    EXPECT_FALSE(block.IsEmpty());
    for (int i = 0; i < 3; ++i) {
        EXPECT_NE(h[i], kNullHandle);
        EXPECT_EQ(block.GetOffset(h[i]), off[i]);
        EXPECT_EQ(block.GetUserData(h[i]), &tags[i]);
    }
    EXPECT_EQ(off[1] % 64, 0u);
    EXPECT_EQ(off[2] % 256, 0u);
    EXPECT_GE(block.GetAllocationSize(h[0]), 1000u);
    block.SetUserData(h[0], nullptr);
    EXPECT_EQ(block.GetUserData(h[0]), nullptr);

    const Statistics s = block.GetStatistics();
    EXPECT_EQ(s.blockCount, 1u);
    EXPECT_EQ(s.allocationCount, 3u);
    EXPECT_EQ(s.blockBytes, Size{1} << 20);
    const DetailedStatistics d = block.CalculateDetailedStatistics();
    EXPECT_EQ(d.statistics.allocationCount, 3u);
    EXPECT_EQ(d.statistics.allocationBytes, s.allocationBytes);
    EXPECT_LE(d.allocationSizeMin, d.allocationSizeMax);
    std::string why;
    EXPECT_TRUE(block.Validate(&why)) << why;

    block.Free(kNullHandle);  // no-op
    for (AllocHandle x : h) block.Free(x);
    EXPECT_TRUE(block.IsEmpty());
    EXPECT_TRUE(block.Validate(&why)) << why;
}

TEST_P(VirtualBlockTest, FailureReportsNullHandleAndWholeSize) {
    VirtualBlockCreateInfo info;
    info.size = 1024;
    info.algorithm = GetParam();
    VirtualBlock block(info);
    AllocHandle h = 123;
    Size offset = 0;
    EXPECT_FALSE(block.Allocate(2048, 1, 0, &h, &offset));
    EXPECT_EQ(h, kNullHandle);
    EXPECT_EQ(offset, kWholeSize);
    h = 123;
    offset = 0;
    EXPECT_FALSE(block.Allocate(0, 1, 0, &h, &offset));  // zero size
    EXPECT_EQ(h, kNullHandle);
    EXPECT_EQ(offset, kWholeSize);
}

TEST_P(VirtualBlockTest, FillsUpThenClears) {
    VirtualBlockCreateInfo info;
    info.size = 1 << 16;
    info.algorithm = GetParam();
    VirtualBlock block(info);
    std::vector<std::pair<Size, Size>> ranges;
    AllocHandle h;
    Size offset;
    while (block.Allocate(256, 1, 0, &h, &offset)) ranges.push_back({offset, 256});
    EXPECT_EQ(ranges.size(), (Size{1} << 16) / 256);  // every algorithm packs equal power-of-two sizes
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i) EXPECT_GE(ranges[i].first, ranges[i - 1].first + 256);
    block.Clear();
    EXPECT_TRUE(block.IsEmpty());
    EXPECT_EQ(block.GetStatistics().allocationCount, 0u);
    EXPECT_TRUE(block.Allocate(1 << 16, 1, 0, &h, &offset));  // the whole block again
    EXPECT_EQ(offset, 0u);
}

TEST_P(VirtualBlockTest, WalkCoversTheBlockInOrder) {
    VirtualBlockCreateInfo info;
    info.size = 100000;
    info.algorithm = GetParam();
    VirtualBlock block(info);
    std::mt19937 rng(1);
    std::vector<AllocHandle> live;
    for (int i = 0; i < 200; ++i) {
        AllocHandle h;
        Size offset;
        if (block.Allocate(1 + rng() % 200, Size{1} << (rng() % 5), 0, &h, &offset)) live.push_back(h);
    }
    // LIFO frees are legal for every algorithm (the linear one as a stack).
    for (int i = 0; i < 50; ++i) {
        block.Free(live.back());
        live.pop_back();
    }
    Size end = 0, allocations = 0, freeBytes = 0;
    block.Walk([&](const RangeInfo& r) {
        EXPECT_GE(r.offset, end);
        if (!r.free) {
            ++allocations;
            EXPECT_EQ(block.GetOffset(r.handle), r.offset);
        } else {
            freeBytes += r.size;
        }
        end = r.offset + r.size;
    });
    EXPECT_LE(end, info.size);
    EXPECT_EQ(allocations, live.size());
    std::string why;
    EXPECT_TRUE(block.Validate(&why)) << why;
}

INSTANTIATE_TEST_SUITE_P(Algorithms, VirtualBlockTest,
                         ::testing::Values(Algorithm::kTlsf, Algorithm::kLinear, Algorithm::kBuddy),
                         [](const ::testing::TestParamInfo<Algorithm>& p) { return std::string(Name(p.param)); });

TEST(VirtualBlockTlsf, UsesVirtualSmallClassesAndNoGranularity) {
    VirtualBlockCreateInfo info;
    info.size = 4096;
    VirtualBlock block(info);
    auto& tlsf = dynamic_cast<TlsfMetadata&>(block.metadata());
    EXPECT_EQ(tlsf.ListIndex(8), 1u);  // 8-unit small lists
    EXPECT_FALSE(tlsf.UsesPageTable());
    // Strategy flags pass through: min-offset takes the lowest hole.
    AllocHandle a, b, c, x;
    Size oa, ob, oc, ox;
    ASSERT_TRUE(block.Allocate(100, 1, 0, &a, &oa));
    ASSERT_TRUE(block.Allocate(100, 1, 0, &b, &ob));
    ASSERT_TRUE(block.Allocate(100, 1, 0, &c, &oc));
    block.Free(a);
    ASSERT_TRUE(block.Allocate(10, 1, kAllocStrategyMinOffset, &x, &ox));
    EXPECT_EQ(ox, oa);
}

TEST(Statistics, AddKeepsVmaSemantics) {
    DetailedStatistics a, b;
    EXPECT_EQ(a.allocationSizeMin, kWholeSize);
    EXPECT_EQ(a.unusedRangeSizeMin, kWholeSize);
    a.AddAllocation(10);
    a.AddAllocation(30);
    a.AddUnusedRange(5);
    b.statistics.blockCount = 2;
    b.statistics.blockBytes = 100;
    b.AddAllocation(3);
    b.AddUnusedRange(50);
    a.Add(b);
    EXPECT_EQ(a.statistics.blockCount, 2u);
    EXPECT_EQ(a.statistics.blockBytes, 100u);
    EXPECT_EQ(a.statistics.allocationCount, 3u);
    EXPECT_EQ(a.statistics.allocationBytes, 43u);
    EXPECT_EQ(a.allocationSizeMin, 3u);
    EXPECT_EQ(a.allocationSizeMax, 30u);
    EXPECT_EQ(a.unusedRangeCount, 2u);
    EXPECT_EQ(a.unusedRangeSizeMin, 5u);
    EXPECT_EQ(a.unusedRangeSizeMax, 50u);
    EXPECT_STREQ(SuballocKindName(SuballocKind::kImageOptimal), "IMAGE_OPTIMAL");
    EXPECT_STREQ(SuballocKindName(SuballocKind::kFree), "FREE");
}

}  // namespace
}  // namespace vma::core
