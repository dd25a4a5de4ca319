// LinearMetadata: each usage pattern (free-at-once, stack, double stack, ring buffer), their
// failure cases, margins, bufferImageGranularity, null-item bookkeeping, and a randomized run.
// Every step is followed by CheckBlock (Validate + walk + counts + statistics + margins).
#include "linear_metadata.h"

#include <gtest/gtest.h>

#include <deque>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "metadata_checks.h"

namespace vma::core {
namespace {

using testing::CheckBlock;
using testing::LiveMap;
using Mode = LinearMetadata::SecondMode;

constexpr SuballocKind kBuf = SuballocKind::kBuffer;
constexpr SuballocKind kOpt = SuballocKind::kImageOptimal;
constexpr SuballocKind kLin = SuballocKind::kImageLinear;

class LinearMetadataTest : public testing::MetadataFixture<LinearMetadata> {
  protected:
    AllocHandle Upper(Size size, Size alignment = 1, SuballocKind kind = kBuf) {
        return Alloc(size, alignment, kind, kAllocUpperAddress);
    }
};

TEST_F(LinearMetadataTest, FreshBlockIsOneFreeRange) {
    Init(1000);
    EXPECT_TRUE(md_.IsEmpty());
    EXPECT_EQ(md_.GetSumFreeSize(), 1000u);
    EXPECT_EQ(md_.GetFreeRegionsCount(), 1u);
    EXPECT_EQ(md_.GetSecondMode(), Mode::kEmpty);
    const auto ranges = testing::Ranges(md_);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_TRUE(ranges[0].free);
    EXPECT_EQ(ranges[0].size, 1000u);
}

TEST_F(LinearMetadataTest, RejectsImpossibleRequests) {
    Init(1000);
    AllocationRequest request;
    EXPECT_FALSE(md_.CreateRequest(0, 1, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(1001, 1, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(kWholeSize, 1, kBuf, 0, &request));
    EXPECT_FALSE(md_.CreateRequest(8, 3, kBuf, 0, &request));  // alignment not a power of two
    EXPECT_FALSE(md_.CreateRequest(8, 1, kBuf, kAllocUpperAddress, nullptr));
    // An alignment larger than the block: offset 0 qualifies, nothing after it does.
    const AllocHandle a = Alloc(10, Size{1} << 62);
    ASSERT_NE(a, kNullHandle);
    EXPECT_EQ(Offset(a), 0u);
    EXPECT_EQ(Alloc(10, 2048), kNullHandle);
    EXPECT_EQ(Alloc(10, Size{1} << 63), kNullHandle);
    // The whole block in one allocation, then nothing more.
    Free(a);
    const AllocHandle all = Alloc(1000);
    ASSERT_NE(all, kNullHandle);
    EXPECT_EQ(Alloc(1), kNullHandle);
    EXPECT_EQ(Upper(1), kNullHandle);
    EXPECT_EQ(md_.GetSumFreeSize(), 0u);
    EXPECT_EQ(md_.GetFreeRegionsCount(), 0u);
}

TEST_F(LinearMetadataTest, FreeAtOnceDoesNotReuseHoles) {
    Init(1000);
    const AllocHandle a = Alloc(100);
    const AllocHandle b = Alloc(200);
    const AllocHandle c = Alloc(300);
    EXPECT_EQ(Offset(a), 0u);
    EXPECT_EQ(Offset(b), 100u);
    EXPECT_EQ(Offset(c), 300u);
    Free(b);  // a hole in the middle: not reused
    const AllocHandle d = Alloc(200);
    EXPECT_EQ(Offset(d), 600u);
    // 200 bytes remain at the end and 200 in the hole, but 300 fit nowhere.
    EXPECT_EQ(Alloc(300), kNullHandle);
    EXPECT_EQ(md_.GetSumFreeSize(), 400u);
    Free(c);
    Free(d);  // frees the last item: trims c's null item too
    const AllocHandle e = Alloc(50);
    EXPECT_EQ(Offset(e), 100u);  // hole reused: everything after `a` is free again
    Free(a);
    Free(e);
    EXPECT_TRUE(md_.IsEmpty());
    const AllocHandle whole = Alloc(1000);
    ASSERT_NE(whole, kNullHandle);
    EXPECT_EQ(Offset(whole), 0u);
}

TEST_F(LinearMetadataTest, FreeAtOnceAnyOrderThenReset) {
    Init(4096);
    std::vector<AllocHandle> handles;
    for (int i = 0; i < 40; ++i) handles.push_back(Alloc(100, 4));
    EXPECT_EQ(Alloc(100), kNullHandle);  // 40 * 100 + 96 free: full
    // Free in a scrambled order; the block resets when the last allocation goes.
    std::mt19937 rng(7);
    std::shuffle(handles.begin(), handles.end(), rng);
    for (std::size_t i = 0; i + 1 < handles.size(); ++i) Free(handles[i]);
    EXPECT_EQ(md_.GetAllocationCount(), 1u);
    Free(handles.back());
    EXPECT_TRUE(md_.IsEmpty());
    EXPECT_EQ(md_.GetSecondMode(), Mode::kEmpty);
    EXPECT_EQ(Offset(Alloc(4096)), 0u);
}

TEST_F(LinearMetadataTest, StackFreesLastInFirstOut) {
    Init(1000);
    const AllocHandle a = Alloc(100);
    const AllocHandle b = Alloc(100);
    const AllocHandle c = Alloc(100);
    Free(c);
    const AllocHandle d = Alloc(50);
    EXPECT_EQ(Offset(d), 200u);  // c's space reused at once
    Free(d);
    Free(b);
    const AllocHandle e = Alloc(10);
    EXPECT_EQ(Offset(e), 100u);
    Free(e);
    Free(a);
    EXPECT_TRUE(md_.IsEmpty());
}

TEST_F(LinearMetadataTest, MiddleNullItemsAreTrimmedFromTheEnd) {
    Init(1000);
    const AllocHandle a = Alloc(100);
    const AllocHandle b = Alloc(100);
    const AllocHandle c = Alloc(100);
    Free(b);  // null item in the middle
    EXPECT_EQ(md_.GetFreeRegionsCount(), 2u);
    Free(c);  // pops c, then b's null item
    EXPECT_EQ(md_.GetFreeRegionsCount(), 1u);
    EXPECT_EQ(Offset(Alloc(100)), 100u);
    (void)a;
}

TEST_F(LinearMetadataTest, ManyMiddleFreesCompactTheFirstVector) {
    Init(100000);
    std::vector<AllocHandle> handles;
    for (int i = 0; i < 200; ++i) handles.push_back(Alloc(100, 16));
    // Free most items in the middle (never the first or last). After every free the 1st vector
    // must not meet VMA's compaction rule (> 32 items and nulls >= 1.5 x live items).
    bool compacted = false;
    for (int i = 1; i < 199; ++i) {
        if (i % 5 == 0) continue;
        const std::size_t nullsBefore = md_.GetFirstVectorNullCount();
        Free(handles[i]);
        const std::size_t items = md_.GetFirstVectorSize();
        const std::size_t nulls = md_.GetFirstVectorNullCount();
        EXPECT_FALSE(items > 32 && nulls * 2 >= (items - nulls) * 3) << "not compacted after freeing item " << i;
        if (nullsBefore > 0 && nulls == 0) compacted = true;
    }
    EXPECT_TRUE(compacted);
    EXPECT_EQ(md_.GetAllocationCount(), 2u + 39u);
    const Size lastEnd = Offset(handles[199]) + 100;
    const AllocHandle next = Alloc(100, 16);
    EXPECT_EQ(Offset(next), AlignUp(lastEnd, 16));  // still appended at the end
    // Free from the front: the null prefix grows, then everything goes.
    Free(handles[0]);
    for (int i = 5; i < 199; i += 5) Free(handles[i]);
    Free(handles[199]);
    Free(next);
    EXPECT_TRUE(md_.IsEmpty());
}

TEST_F(LinearMetadataTest, DoubleStackEndsMeetThenFail) {
    Init(1000);
    const AllocHandle l1 = Alloc(400);
    const AllocHandle u1 = Upper(300);
    EXPECT_EQ(md_.GetSecondMode(), Mode::kDoubleStack);
    EXPECT_EQ(Offset(l1), 0u);
    EXPECT_EQ(Offset(u1), 700u);
    const AllocHandle u2 = Upper(100);
    EXPECT_EQ(Offset(u2), 600u);
    const AllocHandle l2 = Alloc(200);  // exactly fills the gap
    ASSERT_NE(l2, kNullHandle);
    EXPECT_EQ(Offset(l2), 400u);
    EXPECT_EQ(md_.GetSumFreeSize(), 0u);
    EXPECT_EQ(Alloc(1), kNullHandle);  // the two ends met: out of memory
    EXPECT_EQ(Upper(1), kNullHandle);
    Free(u2);  // top of the upper stack: popped
    const AllocHandle u3 = Upper(50, 32);
    EXPECT_EQ(Offset(u3), 640u);        // AlignDown(700 - 50, 32)
    EXPECT_EQ(Alloc(41), kNullHandle);  // 40 bytes between 600 and 640
    EXPECT_NE(Alloc(40), kNullHandle);
}

TEST_F(LinearMetadataTest, DoubleStackMiddleFreeAndAlignment) {
    Init(1000);
    const AllocHandle u1 = Upper(10, 64);
    EXPECT_EQ(Offset(u1), 960u);  // AlignDown(1000 - 10, 64)
    const AllocHandle u2 = Upper(100);
    const AllocHandle u3 = Upper(100);
    EXPECT_EQ(Offset(u2), 860u);
    EXPECT_EQ(Offset(u3), 760u);
    Free(u2);  // null item in the 2nd vector
    const AllocHandle u4 = Upper(10);
    EXPECT_EQ(Offset(u4), 750u);  // below u3: the hole is not reused
    Free(u3);                     // not the top: another null item
    EXPECT_EQ(md_.GetAllocationCount(), 2u);
    EXPECT_EQ(md_.GetFreeRegionsCount(), 3u);  // [0, 750), [760, 960), [970, 1000)
    Free(u4);                                  // the top: popped, and the nulls under it (u3, u2) are trimmed away
    EXPECT_EQ(md_.GetFreeRegionsCount(), 2u);
    EXPECT_EQ(Offset(Upper(100)), 860u);
    // Lower allocations use the rest; the lower stack can grow up to the upper stack's top.
    const AllocHandle l = Alloc(860);
    ASSERT_NE(l, kNullHandle);
    EXPECT_EQ(Offset(l), 0u);
}

TEST_F(LinearMetadataTest, DoubleStackDoesNotWrapAround) {
    Init(1000);
    const AllocHandle a = Alloc(400);
    Alloc(400);
    Upper(100);
    Free(a);  // [0, 400) is free, but only a ring buffer could reach it
    EXPECT_EQ(md_.GetSecondMode(), Mode::kDoubleStack);
    EXPECT_EQ(Alloc(150), kNullHandle);
    EXPECT_NE(Alloc(100), kNullHandle);  // [800, 900) still fits at the end of the 1st vector
}

TEST_F(LinearMetadataTest, RingBufferWrapsAndFailsWhenFull) {
    Init(1000);
    const AllocHandle a = Alloc(300);
    const AllocHandle b = Alloc(300);
    const AllocHandle c = Alloc(300);
    Free(a);                           // oldest first
    const AllocHandle d = Alloc(250);  // 100 left at the end: wraps to the start
    EXPECT_EQ(Offset(d), 0u);
    EXPECT_EQ(md_.GetSecondMode(), Mode::kRingBuffer);
    const AllocHandle e = Alloc(50);  // up to the oldest live item exactly
    EXPECT_EQ(Offset(e), 250u);
    // Full: [900, 1000) is free but behind the cursor; a ring buffer does not go back there.
    EXPECT_EQ(Alloc(1), kNullHandle);
    EXPECT_EQ(md_.GetSumFreeSize(), 100u);
    // Upper-address allocations cannot be mixed with a ring buffer.
    EXPECT_EQ(Upper(1), kNullHandle);
    Free(b);
    const AllocHandle g = Alloc(200);
    EXPECT_EQ(Offset(g), 300u);
    Free(c);  // the 1st vector is empty: the wrapped items become the 1st vector
    EXPECT_EQ(md_.GetSecondMode(), Mode::kEmpty);
    const AllocHandle h = Alloc(400);
    EXPECT_EQ(Offset(h), 500u);
    const AllocHandle i = Alloc(100);
    EXPECT_EQ(Offset(i), 900u);
    EXPECT_EQ(md_.GetSumFreeSize(), 0u);
    Free(i);
    const AllocHandle u = Upper(100);  // not a ring buffer any more: upper allowed
    ASSERT_NE(u, kNullHandle);
    EXPECT_EQ(Offset(u), 900u);
    EXPECT_EQ(md_.GetSecondMode(), Mode::kDoubleStack);
}

TEST_F(LinearMetadataTest, RingBufferFifoRunsForever) {
    Init(1024);
    std::deque<AllocHandle> fifo;
    bool wrapped = false;
    std::mt19937 rng(11);
    for (int i = 0; i < 2000; ++i) {
        // At most 500 bytes are live, so a FIFO ring of 1024 bytes can always place 100 more.
        while (fifo.size() >= 5) {
            Free(fifo.front());
            fifo.pop_front();
        }
        const Size size = 1 + rng() % 100;
        const AllocHandle h = Alloc(size, Size{1} << (rng() % 4));
        ASSERT_NE(h, kNullHandle) << "iteration " << i;
        fifo.push_back(h);
        wrapped = wrapped || md_.GetSecondMode() == Mode::kRingBuffer;
    }
    EXPECT_TRUE(wrapped);
    while (!fifo.empty()) {
        Free(fifo.front());
        fifo.pop_front();
    }
    EXPECT_TRUE(md_.IsEmpty());
}

TEST_F(LinearMetadataTest, RingBufferMiddleFreesAndSecondVectorNulls) {
    Init(1000);
    const AllocHandle a = Alloc(400);
    const AllocHandle b = Alloc(550);
    Free(a);
    const AllocHandle w1 = Alloc(100);
    const AllocHandle w2 = Alloc(100);
    const AllocHandle w3 = Alloc(100);
    EXPECT_EQ(md_.GetSecondMode(), Mode::kRingBuffer);
    EXPECT_EQ(Offset(w3), 200u);
    Free(w2);                             // null item inside the 2nd vector
    Free(w1);                             // leading nulls of the 2nd vector are trimmed
    EXPECT_EQ(Offset(Alloc(100)), 300u);  // still after the newest wrapped item
    Free(b);                              // 1st empty: swap; w3 and the new item become the 1st vector
    EXPECT_EQ(md_.GetSecondMode(), Mode::kEmpty);
    EXPECT_EQ(Offset(Alloc(500)), 400u);
}

TEST_F(LinearMetadataTest, MarginsStayFree) {
    Init(1024, 1, 16, 32);
    const AllocHandle a = Alloc(100);
    EXPECT_EQ(Offset(a), 16u);
    const AllocHandle b = Alloc(100);
    EXPECT_EQ(Offset(b), 116u + 32u + 16u);
    const AllocHandle u1 = Upper(100);
    EXPECT_EQ(Offset(u1), 1024u - 32u - 100u);
    const AllocHandle u2 = Upper(100);
    EXPECT_EQ(Offset(u2), 892u - 16u - 32u - 100u);
    // Between b (ends 264) and u2 (starts 744): 480 bytes, of which 96 are margins
    // (b's after, the new one's before and after, u2's before).
    EXPECT_EQ(Alloc(385), kNullHandle);
    const AllocHandle c = Alloc(384);
    ASSERT_NE(c, kNullHandle);
    EXPECT_EQ(Offset(c), 312u);
}

TEST_F(LinearMetadataTest, MarginsCountAgainstTheBlock) {
    Init(256, 1, 16, 32);
    EXPECT_EQ(Alloc(209), kNullHandle);
    EXPECT_EQ(Upper(209), kNullHandle);
    const AllocHandle a = Alloc(208);
    ASSERT_NE(a, kNullHandle);
    EXPECT_EQ(Offset(a), 16u);
    Free(a);
    const AllocHandle u = Upper(208);
    ASSERT_NE(u, kNullHandle);
    EXPECT_EQ(Offset(u), 16u);
}

TEST_F(LinearMetadataTest, MarginsInRingBuffer) {
    Init(1000, 1, 8, 8);
    const AllocHandle a = Alloc(300);  // [8, 308)
    Alloc(300);                        // [324, 624)
    Alloc(300);                        // [640, 940)
    Free(a);
    // Wrap: [8, 8 + n) plus 8 after must end by 324 - 8 = 316.
    EXPECT_EQ(Alloc(301), kNullHandle);
    const AllocHandle w = Alloc(300);
    ASSERT_NE(w, kNullHandle);
    EXPECT_EQ(Offset(w), 8u);
}

TEST_F(LinearMetadataTest, GranularityBufferThenOptimalImageMovesToNextPage) {
    Init(8192, 1024);
    const AllocHandle buf = Alloc(100, 1, kBuf);
    const AllocHandle img = Alloc(100, 1, kOpt);
    EXPECT_EQ(Offset(buf), 0u);
    EXPECT_EQ(Offset(img), 1024u);
    const AllocHandle buf2 = Alloc(100, 1, kBuf);
    EXPECT_EQ(Offset(buf2), 2048u);
}

TEST_F(LinearMetadataTest, GranularityFollowsTheConflictTable) {
    Init(8192, 1024);
    EXPECT_EQ(Offset(Alloc(100, 1, kBuf)), 0u);
    EXPECT_EQ(Offset(Alloc(100, 1, kLin)), 100u);  // buffer / linear image: no conflict
    EXPECT_EQ(Offset(Alloc(100, 1, kBuf)), 200u);
    // Optimal image conflicts with every item on the page, not just the last one.
    EXPECT_EQ(Offset(Alloc(100, 1, kOpt)), 1024u);
    EXPECT_EQ(Offset(Alloc(100, 1, kOpt)), 1124u);  // optimal / optimal: no conflict
    EXPECT_EQ(Offset(Alloc(100, 1, SuballocKind::kImageUnknown)), 2048u);
    EXPECT_EQ(Offset(Alloc(100, 1, SuballocKind::kUnknown)), 3072u);  // UNKNOWN conflicts with all
    EXPECT_EQ(Offset(Alloc(100, 1, SuballocKind::kUnknown)), 4096u);
}

TEST_F(LinearMetadataTest, GranularityOneDisablesTheCheck) {
    Init(8192, 1);
    EXPECT_EQ(Offset(Alloc(100, 1, kBuf)), 0u);
    EXPECT_EQ(Offset(Alloc(100, 1, kOpt)), 100u);
    EXPECT_EQ(Offset(Upper(100, 1, SuballocKind::kUnknown)), 8092u);
    EXPECT_EQ(Offset(Upper(100, 1, kBuf)), 7992u);
}

TEST_F(LinearMetadataTest, GranularityAfterFreeingTheConflictingNeighbour) {
    Init(8192, 1024);
    Alloc(100, 1, kOpt);
    const AllocHandle b = Alloc(100, 1, kBuf);
    EXPECT_EQ(Offset(b), 1024u);
    Free(b);  // popped: the next image only sees the image on page 0
    EXPECT_EQ(Offset(Alloc(100, 1, kOpt)), 100u);
}

TEST_F(LinearMetadataTest, GranularityOnTheUpperStackMovesBelowThePage) {
    Init(8192, 1024);
    const AllocHandle buf = Upper(100, 1, kBuf);
    EXPECT_EQ(Offset(buf), 8092u);
    // Directly below would be [7992, 8092): last byte on page 7 like the buffer. The image must
    // end on page 6 at the latest.
    const AllocHandle img = Upper(100, 1, kOpt);
    EXPECT_EQ(Offset(img), 7168u - 100u);
    const AllocHandle buf2 = Upper(100, 4, kBuf);  // conflicts with the image above it
    EXPECT_EQ(Offset(buf2), 6144u - 100u);
}

TEST_F(LinearMetadataTest, GranularityConflictWhereStacksMeetFails) {
    Init(2048, 1024);
    Alloc(900, 1, kBuf);
    // Bytes would fit ([948, 2048)), but the image would share page 0 with the buffer.
    EXPECT_EQ(Upper(1100, 1, kOpt), kNullHandle);
    const AllocHandle img = Upper(1000, 1, kOpt);
    EXPECT_EQ(Offset(img), 1048u);
    // A lower buffer whose last byte lands on the image's page cannot move: fail.
    EXPECT_EQ(Alloc(140, 1, kBuf), kNullHandle);  // [900, 1040): page 1
    EXPECT_NE(Alloc(124, 1, kBuf), kNullHandle);  // [900, 1024): page 0 only
}

TEST_F(LinearMetadataTest, GranularityConflictAheadOfTheRingCursorFails) {
    Init(2048, 1024);
    const AllocHandle a = Alloc(1000, 1, kOpt);
    Alloc(500, 1, kOpt);  // [1000, 1500), starts on page 0
    Alloc(500, 1, kOpt);  // [1500, 2000)
    Free(a);
    // Wrapping a buffer to [0, 900) would put it on page 0 with the image at 1000.
    EXPECT_EQ(Alloc(900, 1, kBuf), kNullHandle);
    EXPECT_EQ(Alloc(900, 1, kLin), kNullHandle);
    EXPECT_EQ(Offset(Alloc(900, 1, kOpt)), 0u);  // optimal next to optimal is fine
    EXPECT_EQ(md_.GetSecondMode(), Mode::kRingBuffer);
}

TEST_F(LinearMetadataTest, UserDataAndClear) {
    Init(1000);
    const AllocHandle a = Alloc(10);
    const AllocHandle u = Upper(10);
    int token = 0;
    md_.SetUserData(u, &token);
    live_[u].userData = &token;
    EXPECT_EQ(md_.GetUserData(u), &token);
    EXPECT_TRUE(Check());
    EXPECT_EQ(md_.GetAllocationSize(a), 10u);
    md_.Clear();
    live_.clear();
    EXPECT_TRUE(Check());
    EXPECT_EQ(md_.GetSecondMode(), Mode::kEmpty);
    EXPECT_EQ(Offset(Alloc(1000)), 0u);
}

// Allocate appends without building a request when there is nothing to keep clear; it must place
// every request exactly where CreateRequest + Commit do, in every mode.
TEST(LinearMetadataAllocate, MatchesRequestAndCommit) {
    for (unsigned seed = 1; seed <= 4; ++seed) {
        LinearMetadata a, b;
        MetadataConfig config;
        config.size = 5000;
        config.isVirtual = true;
        a.Init(config);
        b.Init(config);
        std::mt19937 rng(seed);
        std::deque<AllocHandle> order;
        bool sawOtherMode = false;  // ring buffer (odd seeds) or double stack (even seeds)
        int placed = 0;
        for (int step = 0; step < 4000; ++step) {
            const unsigned op = rng() % 10;
            if (op < 5 || order.empty()) {
                const Size size = rng() % 16 == 0 ? 0 : 1 + rng() % 400;
                const Size alignment = rng() % 16 == 0 ? 0 : Size{1} << (rng() % 7);
                const std::uint32_t flags = (seed % 2 == 0 && rng() % 3 == 0) ? kAllocUpperAddress : 0u;
                Size offset = 0;
                const AllocHandle h = a.Allocate(size, alignment, kBuf, flags, nullptr, &offset);
                AllocationRequest request;
                const bool found = b.CreateRequest(size, alignment, kBuf, flags, &request);
                ASSERT_EQ(h != kNullHandle, found) << "seed " << seed << " step " << step;
                if (!found) continue;
                ASSERT_EQ(offset, request.offset) << "seed " << seed << " step " << step;
                ASSERT_EQ(b.Commit(request, kBuf, nullptr), h);
                order.push_back(h);
                ++placed;
            } else {
                // Oldest first (ring buffer), newest first (stack), or any.
                const std::size_t index = op < 7 ? 0 : (op < 9 ? order.size() - 1 : rng() % order.size());
                a.Free(order[index]);
                b.Free(order[index]);
                order.erase(order.begin() + static_cast<std::ptrdiff_t>(index));
            }
            ASSERT_EQ(a.GetSecondMode(), b.GetSecondMode());
            sawOtherMode = sawOtherMode || a.GetSecondMode() != Mode::kEmpty;
        }
        EXPECT_GT(placed, 1000);
        EXPECT_TRUE(sawOtherMode) << "seed " << seed;
        std::string why;
        EXPECT_TRUE(a.Validate(&why)) << why;
    }
}

// Random mixes of every pattern; CheckBlock after each step.
struct RandomParams {
    Size size;
    Size granularity;
    Size before;
    Size after;
    unsigned seed;
};

std::ostream& operator<<(std::ostream& os, const RandomParams& p) {
    return os << "{size " << p.size << ", granularity " << p.granularity << ", margins " << p.before << "/" << p.after
              << ", seed " << p.seed << "}";
}

class LinearMetadataRandomTest : public LinearMetadataTest, public ::testing::WithParamInterface<RandomParams> {};

TEST_P(LinearMetadataRandomTest, MixedOperationsKeepEveryInvariant) {
    const RandomParams p = GetParam();
    Init(p.size, p.granularity, p.before, p.after);
    std::mt19937 rng(p.seed);
    std::vector<AllocHandle> order;  // allocation order
    const SuballocKind kinds[] = {kBuf, kOpt, kLin, SuballocKind::kImageUnknown, SuballocKind::kUnknown};
    int successes = 0;
    int failures = 0;
    for (int step = 0; step < 3000 && !HasFailure(); ++step) {
        const unsigned op = rng() % 10;
        if (op < 5 || order.empty()) {
            const Size size = 1 + rng() % (p.size / 16);
            const Size alignment = Size{1} << (rng() % 7);
            const std::uint32_t flags = (rng() % 4 == 0) ? kAllocUpperAddress : 0u;
            const AllocHandle h = Alloc(size, alignment, kinds[rng() % 5], flags);
            if (h != kNullHandle) {
                order.push_back(h);
                ++successes;
            } else {
                ++failures;
            }
        } else {
            // Oldest (ring), newest (stack) or any (free-at-once).
            std::size_t index = 0;
            if (op < 7) {
                index = 0;
            } else if (op < 9) {
                index = order.size() - 1;
            } else {
                index = rng() % order.size();
            }
            Free(order[index]);
            order.erase(order.begin() + static_cast<std::ptrdiff_t>(index));
        }
    }
    EXPECT_GT(successes, 500);
    EXPECT_GT(failures, 10);
    for (AllocHandle h : order) Free(h);
    EXPECT_TRUE(md_.IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Configs, LinearMetadataRandomTest,
                         ::testing::Values(RandomParams{4096, 1, 0, 0, 1}, RandomParams{4096, 256, 0, 0, 2},
                                           RandomParams{8192, 1024, 16, 16, 3}, RandomParams{10000, 1, 4, 12, 4},
                                           RandomParams{65536, 4096, 0, 64, 5}));

}  // namespace
}  // namespace vma::core
