// BuddyMetadata: split and merge, power-of-two rounding, the unusable tail of a non-power-of-two
// block, minimum node size, level cap, alignment, granularity, margins, and a randomized run.
// Every step is followed by CheckBlock (Validate + walk + counts + statistics + margins).
#include "buddy_metadata.h"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <vector>

#include "metadata_checks.h"

namespace vma::core {
namespace {

using testing::CheckBlock;
using testing::LiveMap;

constexpr SuballocKind kBuf = SuballocKind::kBuffer;
constexpr SuballocKind kOpt = SuballocKind::kImageOptimal;
constexpr SuballocKind kLin = SuballocKind::kImageLinear;

using BuddyMetadataTest = testing::MetadataFixture<BuddyMetadata>;

TEST_F(BuddyMetadataTest, FreshBlockIsOneFreeNode) {
    Init(1024);
    EXPECT_EQ(md_.GetUsableSize(), 1024u);
    EXPECT_EQ(md_.GetLevelCount(), 6u);  // 1024, 512, 256, 128, 64, 32
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
    EXPECT_EQ(md_.GetSumFreeSize(), 1024u);
    const auto ranges = testing::Ranges(md_);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_EQ(ranges[0].size, 1024u);
}

TEST_F(BuddyMetadataTest, RejectsImpossibleRequests) {
    Init(1024);
    AllocationRequest request;
    EXPECT_FALSE(md_.CreateRequest(0, 1, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(1025, 1, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(kWholeSize, 1, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(8, 3, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(8, 1, kBuf, 0, nullptr));
    EXPECT_NE(Alloc(8, Size{1} << 63), kNullHandle);  // offset 0 satisfies any alignment
    EXPECT_EQ(Alloc(8, 2048), kNullHandle);           // no other offset does
}

TEST_F(BuddyMetadataTest, TwoHalvesThenMergeBackToOneNode) {
    Init(1024);
    const AllocHandle a = Alloc(512);
    const AllocHandle b = Alloc(512);
    ASSERT_NE(a, kNullHandle);
    ASSERT_NE(b, kNullHandle);
    EXPECT_EQ(Offset(a), 0u);
    EXPECT_EQ(Offset(b), 512u);
    EXPECT_EQ(md_.GetFreeNodeCount(), 0u);
    EXPECT_EQ(md_.GetFreeRegionsCount(), 0u);
    EXPECT_EQ(Alloc(1), kNullHandle);  // full
    Free(a);
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
    Free(b);  // buddies merge into the root
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
    const auto ranges = testing::Ranges(md_);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_EQ(ranges[0].size, 1024u);
    EXPECT_EQ(Offset(Alloc(1024)), 0u);  // the whole block is one node again
}

TEST_F(BuddyMetadataTest, SplitChainDownToTheSmallestNode) {
    Init(1024);
    const AllocHandle a = Alloc(32);
    EXPECT_EQ(Offset(a), 0u);
    EXPECT_EQ(md_.GetNodeSize(a), 32u);
    // One free buddy per level: 32@32, 64@64, 128@128, 256@256, 512@512.
    EXPECT_EQ(md_.GetFreeNodeCount(), 5u);
    const auto ranges = testing::Ranges(md_);
    ASSERT_EQ(ranges.size(), 6u);
    const Size expected[][2] = {{0, 32}, {32, 32}, {64, 64}, {128, 128}, {256, 256}, {512, 512}};
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(ranges[i].offset, expected[i][0]);
        EXPECT_EQ(ranges[i].size, expected[i][1]);
        EXPECT_EQ(ranges[i].free, i != 0);
    }
    // The next small allocation takes the free 32-byte buddy: lowest address first.
    const AllocHandle b = Alloc(20);
    EXPECT_EQ(Offset(b), 32u);
    EXPECT_EQ(md_.GetFreeNodeCount(), 4u);
    Free(a);
    Free(b);
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
}

TEST_F(BuddyMetadataTest, RequestsRoundUpToPowerOfTwoNodes) {
    Init(1024);
    const AllocHandle a = Alloc(100);
    EXPECT_EQ(md_.GetNodeSize(a), 128u);
    EXPECT_EQ(md_.GetAllocationSize(a), 100u);
    // Internal fragmentation is free space, reported right after the allocation.
    EXPECT_EQ(md_.GetSumFreeSize(), 924u);
    const auto ranges = testing::Ranges(md_);
    ASSERT_GE(ranges.size(), 2u);
    EXPECT_FALSE(ranges[0].free);
    EXPECT_TRUE(ranges[1].free);
    EXPECT_EQ(ranges[1].offset, 100u);
    EXPECT_EQ(ranges[1].size, 28u);
    const AllocHandle b = Alloc(100);
    EXPECT_EQ(Offset(b), 128u);
    const AllocHandle c = Alloc(129);
    EXPECT_EQ(md_.GetNodeSize(c), 256u);
    EXPECT_EQ(Offset(c), 256u);
    const AllocHandle d = Alloc(257);  // 512
    EXPECT_EQ(Offset(d), 512u);
    EXPECT_EQ(Alloc(1), kNullHandle);  // 586 bytes "free", but all inside allocated nodes
    EXPECT_EQ(md_.GetSumFreeSize(), 1024u - 100 - 100 - 129 - 257);
}

TEST_F(BuddyMetadataTest, NonPowerOfTwoTailIsUnusableAndReported) {
    Init(1000);
    EXPECT_EQ(md_.GetUsableSize(), 512u);
    EXPECT_EQ(md_.GetUnusableSize(), 488u);
    EXPECT_EQ(md_.GetLevelCount(), 5u);  // 512 .. 32
    auto ranges = testing::Ranges(md_);
    ASSERT_EQ(ranges.size(), 2u);
    EXPECT_EQ(ranges[1].offset, 512u);
    EXPECT_EQ(ranges[1].size, 488u);
    EXPECT_TRUE(ranges[1].free);
    EXPECT_EQ(md_.GetSumFreeSize(), 1000u);  // the tail counts as free (as in VMA 2.3)
    EXPECT_EQ(Alloc(513), kNullHandle);
    const AllocHandle a = Alloc(512);
    ASSERT_NE(a, kNullHandle);
    EXPECT_EQ(Offset(a), 0u);
    EXPECT_EQ(Alloc(1), kNullHandle);  // 488 bytes free, none of them usable
    EXPECT_EQ(md_.GetSumFreeSize(), 488u);
    EXPECT_EQ(md_.GetFreeRegionsCount(), 1u);
    DetailedStatistics stats;
    md_.AddDetailedStatistics(stats);
    EXPECT_EQ(stats.unusedRangeCount, 1u);
    EXPECT_EQ(stats.unusedRangeSizeMax, 488u);
    EXPECT_EQ(stats.statistics.allocationBytes, 512u);
    EXPECT_EQ(stats.statistics.blockBytes, 1000u);
    Free(a);
}

TEST_F(BuddyMetadataTest, MinimumNodeSizeIs32) {
    Init(1024);
    std::vector<AllocHandle> handles;
    for (int i = 0; i < 32; ++i) {
        const AllocHandle h = Alloc(1);
        ASSERT_NE(h, kNullHandle);
        EXPECT_EQ(md_.GetNodeSize(h), 32u);
        EXPECT_EQ(Offset(h) % 32, 0u);
        handles.push_back(h);
    }
    EXPECT_EQ(Alloc(1), kNullHandle);
    EXPECT_EQ(md_.GetSumFreeSize(), 1024u - 32u);
    for (std::size_t i = 0; i < handles.size(); i += 2) Free(handles[i]);
    EXPECT_EQ(md_.GetFreeNodeCount(), 16u);  // every other 32-byte node: no buddies free together
    for (std::size_t i = 1; i < handles.size(); i += 2) Free(handles[i]);
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
}

TEST_F(BuddyMetadataTest, TinyBlocksKeepTheRoot) {
    Init(48);  // usable 32: one level
    EXPECT_EQ(md_.GetLevelCount(), 1u);
    EXPECT_EQ(md_.GetNodeSize(Alloc(1)), 32u);
    EXPECT_EQ(Alloc(1), kNullHandle);
    Init(16);  // smaller than the minimum node: the root is the only node
    EXPECT_EQ(md_.GetLevelCount(), 1u);
    EXPECT_EQ(md_.GetNodeSize(Alloc(16)), 16u);
}

TEST_F(BuddyMetadataTest, VirtualBlocksUseOneUnitNodes) {
    Init(1024, 1, 0, 0, /*isVirtual=*/true);
    EXPECT_EQ(md_.GetLevelCount(), 11u);  // 1024 .. 1
    std::vector<AllocHandle> handles;
    for (int i = 0; i < 1024; ++i) {
        AllocationRequest request;
        ASSERT_TRUE(md_.CreateRequest(1, 1, kBuf, 0, &request));
        const AllocHandle h = md_.Commit(request, kBuf, nullptr);
        EXPECT_EQ(md_.GetNodeSize(h), 1u);
        live_[h] = {request.offset, 1, nullptr};
        handles.push_back(h);
    }
    EXPECT_TRUE(Check());
    EXPECT_EQ(Alloc(1), kNullHandle);
    for (AllocHandle h : handles) md_.Free(h);
    live_.clear();
    EXPECT_TRUE(Check());
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
}

TEST_F(BuddyMetadataTest, LevelsAreCappedAt48) {
    Init(Size{1} << 40);  // real: 2^40 .. 2^5 = 36 levels
    EXPECT_EQ(md_.GetLevelCount(), 36u);
    EXPECT_EQ(md_.GetNodeSize(Alloc(1)), 32u);
    Init(Size{1} << 60, 1, 0, 0, /*isVirtual=*/true);  // would be 61 levels of 1-unit nodes
    EXPECT_EQ(md_.GetLevelCount(), BuddyMetadata::kMaxLevels);
    EXPECT_EQ(md_.GetNodeSize(Alloc(1)), Size{1} << 13);  // 2^60 >> 47
}

TEST_F(BuddyMetadataTest, AlignmentPicksAnAlignedNode) {
    Init(1024);
    EXPECT_EQ(Offset(Alloc(32)), 0u);
    // Free nodes are 32@32, 64@64, 128@128, 256@256, 512@512: the first aligned one is 256.
    const AllocHandle b = Alloc(32, 256);
    EXPECT_EQ(Offset(b), 256u);
    EXPECT_EQ(md_.GetNodeSize(b), 32u);
    // Free lists are LIFO: the split of 256@256 left 32@288 and 64@320 at the front of their lists,
    // so the 64-aligned request takes 64@320 before the older 64@64.
    const AllocHandle c = Alloc(1, 64);
    EXPECT_EQ(Offset(c), 320u);
    EXPECT_EQ(md_.GetNodeSize(c), 32u);
    EXPECT_EQ(Alloc(8, 2048), kNullHandle);
}

TEST_F(BuddyMetadataTest, NeighboursThatAreNotBuddiesDoNotMerge) {
    Init(1024);
    const AllocHandle a = Alloc(256);
    const AllocHandle b = Alloc(256);
    const AllocHandle c = Alloc(256);
    const AllocHandle d = Alloc(256);
    EXPECT_EQ(Offset(d), 768u);
    Free(b);
    Free(c);  // b and c touch but have different parents
    EXPECT_EQ(md_.GetFreeNodeCount(), 2u);
    EXPECT_EQ(md_.GetFreeRegionsCount(), 2u);
    EXPECT_EQ(Alloc(512), kNullHandle);
    Free(a);  // a + b merge into [0, 512)
    EXPECT_EQ(md_.GetFreeNodeCount(), 2u);
    EXPECT_EQ(Offset(Alloc(512)), 0u);
    (void)d;
}

TEST_F(BuddyMetadataTest, GranularityGivesImagesTheirOwnPages) {
    Init(8192, 1024);
    const AllocHandle buf = Alloc(100, 1, kBuf);
    EXPECT_EQ(md_.GetNodeSize(buf), 128u);
    const AllocHandle img = Alloc(100, 1, kOpt);
    EXPECT_EQ(Offset(img), 1024u);
    EXPECT_EQ(md_.GetNodeSize(img), 1024u);
    EXPECT_EQ(md_.GetAllocationSize(img), 100u);
    const AllocHandle unk = Alloc(10, 1, SuballocKind::kUnknown);
    EXPECT_EQ(md_.GetNodeSize(unk), 1024u);
    const AllocHandle lin = Alloc(100, 1, kLin);  // linear images share pages with buffers
    EXPECT_EQ(md_.GetNodeSize(lin), 128u);
    EXPECT_EQ(Offset(lin), 128u);
    // No page holds both an optimal/unknown allocation and anything else.
    for (const auto& [h, a] : live_) {
        for (const auto& [h2, a2] : live_) {
            if (h == h2) continue;
            const bool sharesPage = AlignDown(a.offset, 1024) <= a2.offset + a2.size - 1 &&
                                    a2.offset <= AlignDown(a.offset + a.size - 1, 1024) + 1023;
            if (h == img || h == unk) {
                EXPECT_FALSE(sharesPage) << "offsets " << a.offset << ", " << a2.offset;
            }
        }
    }
}

TEST_F(BuddyMetadataTest, MarginsLieInsideTheNode) {
    Init(1024, 1, 16, 16);
    const AllocHandle a = Alloc(32, 16);  // 16 + 32 + 16 = 64
    EXPECT_EQ(Offset(a), 16u);
    EXPECT_EQ(md_.GetNodeSize(a), 64u);
    const AllocHandle b = Alloc(32, 64);  // AlignUp(16, 64) + 32 + 16 = 112
    EXPECT_EQ(md_.GetNodeSize(b), 128u);
    EXPECT_EQ(Offset(b), 128u + 64u);
    const AllocHandle c = Alloc(33, 16);  // 16 + 33 + 16 = 65
    EXPECT_EQ(md_.GetNodeSize(c), 128u);
    EXPECT_EQ(Alloc(1024 - 32 + 1), kNullHandle);
    Free(a);
    Free(b);
    Free(c);
    EXPECT_NE(Alloc(1024 - 32), kNullHandle);  // exactly the block with both margins
}

TEST_F(BuddyMetadataTest, FullBlockFailsAndRecovers) {
    Init(4096);
    const AllocHandle a = Alloc(4096);
    ASSERT_NE(a, kNullHandle);
    EXPECT_EQ(Alloc(1), kNullHandle);
    EXPECT_EQ(md_.GetSumFreeSize(), 0u);
    Free(a);
    EXPECT_NE(Alloc(1), kNullHandle);
}

TEST_F(BuddyMetadataTest, UserDataAndClear) {
    Init(1024);
    const AllocHandle a = Alloc(10);
    int token = 0;
    md_.SetUserData(a, &token);
    live_[a].userData = &token;
    EXPECT_EQ(md_.GetUserData(a), &token);
    EXPECT_TRUE(Check());
    Alloc(300);
    md_.Clear();
    live_.clear();
    EXPECT_TRUE(Check());
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);
    EXPECT_EQ(Offset(Alloc(1024)), 0u);
}

struct RandomParams {
    Size size;
    Size granularity;
    Size before;
    Size after;
    bool isVirtual;
    unsigned seed;
};

std::ostream& operator<<(std::ostream& os, const RandomParams& p) {
    return os << "{size " << p.size << ", granularity " << p.granularity << ", margins " << p.before << "/" << p.after
              << (p.isVirtual ? ", virtual" : "") << ", seed " << p.seed << "}";
}

class BuddyMetadataRandomTest : public BuddyMetadataTest, public ::testing::WithParamInterface<RandomParams> {};

TEST_P(BuddyMetadataRandomTest, RandomAllocAndFreeKeepEveryInvariant) {
    const RandomParams p = GetParam();
    Init(p.size, p.granularity, p.before, p.after, p.isVirtual);
    std::mt19937 rng(p.seed);
    std::vector<AllocHandle> handles;
    const SuballocKind kinds[] = {kBuf, kOpt, kLin, SuballocKind::kImageUnknown, SuballocKind::kUnknown};
    int successes = 0;
    int failures = 0;
    for (int step = 0; step < 3000 && !HasFailure(); ++step) {
        if (rng() % 2 == 0 || handles.empty()) {
            const Size size = 1 + rng() % (md_.GetUsableSize() / 16);
            const Size alignment = Size{1} << (rng() % 9);
            const AllocHandle h = Alloc(size, alignment, kinds[rng() % 5]);
            if (h != kNullHandle) {
                EXPECT_GE(md_.GetNodeSize(h), size);
                handles.push_back(h);
                ++successes;
            } else {
                ++failures;
            }
        } else {
            const std::size_t index = rng() % handles.size();
            Free(handles[index]);
            handles.erase(handles.begin() + static_cast<std::ptrdiff_t>(index));
        }
    }
    EXPECT_GT(successes, 500);
    EXPECT_GT(failures, 10);
    for (AllocHandle h : handles) Free(h);
    EXPECT_TRUE(md_.IsEmpty());
    EXPECT_EQ(md_.GetFreeNodeCount(), 1u);  // everything merged back
}

INSTANTIATE_TEST_SUITE_P(Configs, BuddyMetadataRandomTest,
                         ::testing::Values(RandomParams{4096, 1, 0, 0, false, 1},
                                           RandomParams{5000, 256, 0, 0, false, 2},
                                           RandomParams{16384, 1024, 16, 16, false, 3},
                                           RandomParams{1000, 1, 0, 0, true, 4},
                                           RandomParams{65536, 4096, 0, 64, false, 5}));

}  // namespace
}  // namespace vma::core
