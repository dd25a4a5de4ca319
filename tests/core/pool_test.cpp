// Pool: VMA 3.x's block policy (sizes, growth, halving, empty-block hysteresis, budget), block
// choice, statistics, and many threads at once, against a fake BlockSource.
#include "pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace vma::core {
namespace {

constexpr Size kMiB = Size{1} << 20;
constexpr Size kGiB = Size{1} << 30;

// Records every call; can fail the Nth call, every call of at least some size, or everything;
// reports a settable budget; can sleep in AllocateBlock like a real driver.
class FakeSource : public BlockSource {
  public:
    bool AllocateBlock(Size size, std::uint64_t* cookie) override {
        if (sleepPerBlock.count() != 0) std::this_thread::sleep_for(sleepPerBlock);
        std::lock_guard<std::mutex> lock(mutex_);
        requested_.push_back(size);
        const std::uint32_t call = static_cast<std::uint32_t>(requested_.size());
        if (failAll || size >= failAtOrAbove || call == failCall || (failEvery != 0 && call % failEvery == 0)) {
            return false;
        }
        *cookie = nextCookie_++;
        live_[*cookie] = size;
        ++allocCount_;
        return true;
    }
    void FreeBlock(std::uint64_t cookie, Size size) override {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = live_.find(cookie);
        if (it == live_.end() || it->second != size) {
            ++badFrees_;
            return;
        }
        live_.erase(it);
        ++freeCount_;
    }
    bool GetBudget(Size* usage, Size* budget) override {
        if (!reportBudget) return false;
        *usage = usage_.load();
        *budget = budget_.load();
        return true;
    }

    void SetBudget(Size usage, Size budget) {
        usage_ = usage;
        budget_ = budget;
        reportBudget = true;
    }
    std::vector<Size> Requested() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requested_;
    }
    std::size_t Calls() const { return Requested().size(); }
    std::size_t AllocCount() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return allocCount_;
    }
    std::size_t FreeCount() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return freeCount_;
    }
    std::size_t LiveCount() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return live_.size();
    }
    std::size_t BadFrees() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return badFrees_;
    }

    std::atomic<bool> failAll{false};
    std::atomic<Size> failAtOrAbove{kWholeSize};
    std::atomic<std::uint32_t> failCall{0};   // 1-based; 0: never
    std::atomic<std::uint32_t> failEvery{0};  // 0: never
    std::atomic<bool> reportBudget{false};
    std::chrono::milliseconds sleepPerBlock{0};

  private:
    mutable std::mutex mutex_;
    std::vector<Size> requested_;
    std::map<std::uint64_t, Size> live_;
    std::uint64_t nextCookie_ = 1;
    std::size_t allocCount_ = 0;
    std::size_t freeCount_ = 0;
    std::size_t badFrees_ = 0;
    std::atomic<Size> usage_{0};
    std::atomic<Size> budget_{0};
};

PoolConfig LargeHeap() {
    PoolConfig config;
    config.heapSize = 8 * kGiB;
    return config;
}

void ExpectValid(const Pool& pool) {
    std::string why;
    EXPECT_TRUE(pool.Validate(&why)) << why;
}

std::vector<Size> BlockSizes(const Pool& pool) {
    std::vector<Size> sizes;
    pool.ForEachBlock([&](const Block& block) { sizes.push_back(block.size); });
    return sizes;
}

// Allocates `size`-byte allocations until the source has been called `calls` times.
std::vector<PoolAllocation> AllocateUntilCalls(Pool& pool, FakeSource& source, Size size, std::size_t calls) {
    std::vector<PoolAllocation> allocations;
    while (source.Calls() < calls) {
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(size, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        if (a.block == nullptr) break;
        allocations.push_back(a);
    }
    return allocations;
}

TEST(PoolTest, PreferredBlockSizeFollowsVma) {
    FakeSource source;
    PoolConfig config;

    config.heapSize = 8 * kGiB;
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 256 * kMiB);
    config.heapSize = 256 * kMiB;
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 32 * kMiB);
    config.heapSize = 1 * kGiB;  // ≤ 1 GiB is still a small heap
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 128 * kMiB);
    config.heapSize = 1 * kGiB + 1;
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 256 * kMiB);
    config.heapSize = 1000;  // 125 aligned up to 32
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 128u);
    config.heapSize = 0;  // unknown heap
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 256 * kMiB);
    config.heapSize = 256 * kMiB;
    config.preferredBlockSize = 10 * kMiB;  // explicit wins
    EXPECT_EQ(Pool(config, source).PreferredBlockSize(), 10 * kMiB);
    EXPECT_EQ(source.Calls(), 0u);
}

TEST(PoolTest, SmallAllocationsOnLargeHeapGrow32To256) {
    FakeSource source;
    std::vector<PoolAllocation> allocations;
    {
        Pool pool(LargeHeap(), source);
        allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 6);
        EXPECT_EQ(source.Requested(),
                  (std::vector<Size>{32 * kMiB, 64 * kMiB, 128 * kMiB, 256 * kMiB, 256 * kMiB, 256 * kMiB}));
        EXPECT_EQ(BlockSizes(pool), source.Requested());  // in id order
        ExpectValid(pool);
        for (const PoolAllocation& a : allocations) pool.Free(a);
        ExpectValid(pool);
    }
    EXPECT_EQ(source.AllocCount(), source.FreeCount());
    EXPECT_EQ(source.BadFrees(), 0u);
}

TEST(PoolTest, FirstBlockHoldsTheRequestTwice) {
    FakeSource source;
    Pool pool(LargeHeap(), source);
    PoolAllocation a, b, c;
    ASSERT_EQ(pool.Allocate(40 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);   // 64 < 80
    ASSERT_EQ(pool.Allocate(100 * kMiB, 1, SuballocKind::kBuffer, nullptr, &b), PoolResult::kSuccess);  // 128 < 200
    ASSERT_EQ(pool.Allocate(16 * kMiB, 1, SuballocKind::kBuffer, nullptr, &c), PoolResult::kSuccess);   // fits in #1
    EXPECT_EQ(source.Requested(), (std::vector<Size>{128 * kMiB, 256 * kMiB}));
    EXPECT_EQ(c.block, a.block);
    pool.Free(a);
    pool.Free(b);
    pool.Free(c);
    ExpectValid(pool);
}

TEST(PoolTest, SmallHeapUsesHeapOverEightAndNeverGrowsPastIt) {
    FakeSource source;
    PoolConfig config;
    config.heapSize = 256 * kMiB;
    Pool pool(config, source);
    ASSERT_EQ(pool.PreferredBlockSize(), 32 * kMiB);
    std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 7);
    // ⅛ → ¼ → ½ → 1 of the 32 MiB preferred size, then 32 MiB blocks only.
    EXPECT_EQ(source.Requested(),
              (std::vector<Size>{4 * kMiB, 8 * kMiB, 16 * kMiB, 32 * kMiB, 32 * kMiB, 32 * kMiB, 32 * kMiB}));
    for (Size size : source.Requested()) EXPECT_LE(size, 32 * kMiB);
    EXPECT_TRUE(pool.PrefersOwnMemory(16 * kMiB + 1));
    PoolAllocation big;
    EXPECT_EQ(pool.Allocate(32 * kMiB + 1, 1, SuballocKind::kBuffer, nullptr, &big), PoolResult::kTooLarge);
    for (const PoolAllocation& a : allocations) pool.Free(a);
    ExpectValid(pool);
}

TEST(PoolTest, FixedBlockSizeDisablesGrowthAndHalving) {
    FakeSource source;
    PoolConfig config = LargeHeap();
    config.preferredBlockSize = 16 * kMiB;
    config.fixedBlockSize = true;
    Pool pool(config, source);
    std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 3);
    EXPECT_EQ(source.Requested(), (std::vector<Size>(3, 16 * kMiB)));
    source.failAll = true;
    while (true) {  // fill the last block, then the source fails: no halved retry
        PoolAllocation a;
        PoolResult result = pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a);
        if (result != PoolResult::kSuccess) {
            EXPECT_EQ(result, PoolResult::kOutOfMemory);
            EXPECT_EQ(a.block, nullptr);
            break;
        }
        allocations.push_back(a);
    }
    EXPECT_EQ(source.Requested(), (std::vector<Size>(4, 16 * kMiB)));
    for (const PoolAllocation& a : allocations) pool.Free(a);
    ExpectValid(pool);
}

TEST(PoolTest, KeepsOneEmptyBlockAndReusesIt) {
    FakeSource source;
    {
        Pool pool(LargeHeap(), source);
        std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 3);  // 32, 64, 128
        ASSERT_EQ(source.AllocCount(), 3u);
        for (const PoolAllocation& a : allocations) pool.Free(a);
        EXPECT_EQ(source.FreeCount(), 2u);
        EXPECT_EQ(source.LiveCount(), 1u);
        EXPECT_EQ(BlockSizes(pool), (std::vector<Size>{128 * kMiB}));  // the largest empty block is kept
        Statistics stats = pool.GetStatistics();
        EXPECT_EQ(stats.blockCount, 1u);
        EXPECT_EQ(stats.blockBytes, 128 * kMiB);
        EXPECT_EQ(stats.allocationCount, 0u);
        ExpectValid(pool);

        PoolAllocation again;
        ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &again), PoolResult::kSuccess);
        EXPECT_EQ(source.Calls(), 3u);  // no new source call
        pool.Free(again);
        EXPECT_EQ(source.LiveCount(), 1u);
        ExpectValid(pool);
    }
    EXPECT_EQ(source.LiveCount(), 0u);
    EXPECT_EQ(source.AllocCount(), source.FreeCount());
}

TEST(PoolTest, KeepEmptyBlocksIsConfigurable) {
    for (std::uint32_t keep : {0u, 2u}) {
        FakeSource source;
        PoolConfig config = LargeHeap();
        config.keepEmptyBlocks = keep;
        Pool pool(config, source);
        std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 3);
        for (const PoolAllocation& a : allocations) pool.Free(a);
        EXPECT_EQ(source.LiveCount(), keep);
        ExpectValid(pool);
    }
}

std::atomic<std::uint64_t> gFakeNow{0};
std::uint64_t FakeClock() { return gFakeNow.load(); }

// LargeHeap with an empty-block grace period of graceNs on the fake clock, which starts at `now`.
PoolConfig GraceConfig(std::uint64_t graceNs, std::uint64_t now) {
    PoolConfig config = LargeHeap();
    config.emptyBlockGraceNs = graceNs;
    config.clock = &FakeClock;
    gFakeNow = now;
    return config;
}

TEST(PoolTest, GracePeriodKeepsEmptyBlocksForReuse) {
    FakeSource source;
    Pool pool(GraceConfig(1000, 5000), source);
    std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 3);
    const std::size_t count = allocations.size();
    for (const PoolAllocation& a : allocations) pool.Free(a);
    // Within the grace period every empty block stays.
    EXPECT_EQ(source.LiveCount(), 3u);
    ExpectValid(pool);
    pool.TrimExpiredEmptyBlocks();
    EXPECT_EQ(source.LiveCount(), 3u);

    // The same allocations again: served by the kept blocks, no source call.
    gFakeNow += 999;
    allocations.clear();
    for (std::size_t i = 0; i < count; ++i) {
        PoolAllocation a;
        ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        allocations.push_back(a);
    }
    EXPECT_EQ(source.Calls(), 3u);
    ExpectValid(pool);
    for (const PoolAllocation& a : allocations) pool.Free(a);
    EXPECT_EQ(source.LiveCount(), 3u);

    // Once the grace period has run out, all but keepEmptyBlocks (the largest) go.
    gFakeNow += 999;
    pool.TrimExpiredEmptyBlocks();
    EXPECT_EQ(source.LiveCount(), 3u);
    gFakeNow += 1;
    pool.TrimExpiredEmptyBlocks();
    EXPECT_EQ(source.LiveCount(), 1u);
    ExpectValid(pool);
    Size kept = 0;
    pool.ForEachBlock([&](const Block& b) { kept = b.size; });
    EXPECT_EQ(kept, 128 * kMiB);
}

TEST(PoolTest, GracePeriodEndsOnALaterFree) {
    FakeSource source;
    Pool pool(GraceConfig(1000, 100), source);
    std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 3);
    PoolAllocation last = allocations.back();  // in the newest (128 MiB) block
    allocations.pop_back();
    for (const PoolAllocation& a : allocations) pool.Free(a);
    EXPECT_EQ(source.LiveCount(), 3u);
    gFakeNow += 5000;
    // No trim call: the next free sees the expired blocks (32 and 64 MiB) and releases them.
    pool.Free(last);
    EXPECT_EQ(source.LiveCount(), 1u);
    ExpectValid(pool);
}

TEST(PoolTest, GracePeriodYieldsToBudget) {
    FakeSource source;
    Pool pool(GraceConfig(1000000000, 0), source);
    std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 3);
    source.SetBudget(10 * kGiB, 1 * kGiB);  // over budget: empty blocks go at once
    for (const PoolAllocation& a : allocations) pool.Free(a);
    EXPECT_EQ(source.LiveCount(), 0u);
    ExpectValid(pool);
}

TEST(PoolTest, HalvesNewBlockWhenSourceFails) {
    FakeSource source;
    source.failAtOrAbove = 256 * kMiB;
    Pool pool(LargeHeap(), source);
    PoolAllocation a;
    ASSERT_EQ(pool.Allocate(100 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
    EXPECT_EQ(source.Requested(), (std::vector<Size>{256 * kMiB, 128 * kMiB}));
    EXPECT_EQ(a.block->size, 128 * kMiB);
    pool.Free(a);
    ExpectValid(pool);
}

TEST(PoolTest, HalvingStopsAtTheRequestAndAtThreeShifts) {
    {
        FakeSource source;  // 200 MiB: 256 fails, 128 < 200 is never tried
        source.failAtOrAbove = 256 * kMiB;
        Pool pool(LargeHeap(), source);
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(200 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kOutOfMemory);
        EXPECT_EQ(source.Requested(), (std::vector<Size>{256 * kMiB}));
    }
    {
        FakeSource source;  // small request: the first block is already ⅛, no shift left
        source.failCall = 1;
        Pool pool(LargeHeap(), source);
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kOutOfMemory);
        EXPECT_EQ(source.Requested(), (std::vector<Size>{32 * kMiB}));
        // The next call succeeds and still gets the ⅛ block.
        ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        EXPECT_EQ(source.Requested(), (std::vector<Size>{32 * kMiB, 32 * kMiB}));
        pool.Free(a);
    }
    {
        FakeSource source;  // 20 MiB: 64 (one shift), fails → 32 → fails → 16 < 20 stops
        source.failAtOrAbove = 32 * kMiB;
        Pool pool(LargeHeap(), source);
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(20 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kOutOfMemory);
        EXPECT_EQ(source.Requested(), (std::vector<Size>{64 * kMiB, 32 * kMiB}));
    }
}

TEST(PoolTest, TotalFailureLeaksNothing) {
    FakeSource source;
    std::vector<PoolAllocation> allocations;
    {
        Pool pool(LargeHeap(), source);
        source.failAll = true;
        PoolAllocation a;
        a.handle = 123;  // must be reset
        EXPECT_EQ(pool.Allocate(100 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kOutOfMemory);
        EXPECT_EQ(a.block, nullptr);
        EXPECT_EQ(a.handle, kNullHandle);
        EXPECT_EQ(source.Requested(), (std::vector<Size>{256 * kMiB, 128 * kMiB}));
        EXPECT_EQ(pool.GetStatistics().blockCount, 0u);
        ExpectValid(pool);

        // The pool recovers, and a mix of failures and successes leaves nothing behind.
        source.failAll = false;
        source.failEvery = 3;
        std::mt19937 rng(7);
        for (int i = 0; i < 2000; ++i) {
            if (!allocations.empty() && rng() % 3 == 0) {
                std::size_t at = rng() % allocations.size();
                pool.Free(allocations[at]);
                allocations.erase(allocations.begin() + static_cast<std::ptrdiff_t>(at));
                continue;
            }
            PoolAllocation b;
            PoolResult result = pool.Allocate((rng() % 4096 + 1) * 1024, 256, SuballocKind::kBuffer, nullptr, &b);
            if (result == PoolResult::kSuccess) allocations.push_back(b);
        }
        ExpectValid(pool);
        // Destroyed with allocations still live: every block goes back anyway.
    }
    EXPECT_GT(source.AllocCount(), 0u);
    EXPECT_EQ(source.AllocCount(), source.FreeCount());
    EXPECT_EQ(source.LiveCount(), 0u);
    EXPECT_EQ(source.BadFrees(), 0u);
}

TEST(PoolTest, BudgetExceededFreesEmptyBlocks) {
    FakeSource source;
    Pool pool(LargeHeap(), source);
    source.SetBudget(0, 8 * kGiB);
    std::vector<PoolAllocation> allocations = AllocateUntilCalls(pool, source, 1 * kMiB, 2);  // 32 + 64
    // Empty the first block while under budget: it is kept.
    for (const PoolAllocation& a : allocations) {
        if (a.block->size == 32 * kMiB) pool.Free(a);
    }
    EXPECT_EQ(source.LiveCount(), 2u);
    // Over budget: the next free releases the kept empty block, and the one it empties.
    source.SetBudget(8 * kGiB, 8 * kGiB);
    for (const PoolAllocation& a : allocations) {
        if (a.block->size == 64 * kMiB) pool.Free(a);
    }
    EXPECT_EQ(source.LiveCount(), 0u);
    EXPECT_EQ(pool.GetStatistics().blockCount, 0u);
    ExpectValid(pool);
}

TEST(PoolTest, TrimEmptyBlocksReleasesTheKeptBlock) {
    FakeSource source;
    Pool pool(LargeHeap(), source);
    PoolAllocation a;
    ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
    pool.Free(a);
    EXPECT_EQ(source.LiveCount(), 1u);
    pool.TrimEmptyBlocks();
    EXPECT_EQ(source.LiveCount(), 0u);
    EXPECT_EQ(pool.GetStatistics().blockCount, 0u);
    ExpectValid(pool);
}

TEST(PoolTest, NewBlocksWithinBudget) {
    FakeSource source;
    PoolConfig config = LargeHeap();
    config.newBlocksWithinBudget = true;
    Pool pool(config, source);
    source.SetBudget(1 * kGiB, 1 * kGiB + 200 * kMiB);  // 200 MiB left
    PoolAllocation a;
    ASSERT_EQ(pool.Allocate(100 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
    EXPECT_EQ(source.Requested(), (std::vector<Size>{128 * kMiB}));  // 256 > 200 never asked for
    source.SetBudget(1 * kGiB, 1 * kGiB + 50 * kMiB);                // less than the request left
    PoolAllocation b;
    EXPECT_EQ(pool.Allocate(60 * kMiB, 1, SuballocKind::kBuffer, nullptr, &b), PoolResult::kOutOfMemory);
    EXPECT_EQ(source.Calls(), 1u);
    pool.Free(a);
    ExpectValid(pool);
}

TEST(PoolTest, PrefersOwnMemoryAboveHalfABlock) {
    FakeSource source;
    Pool pool(LargeHeap(), source);
    EXPECT_FALSE(pool.PrefersOwnMemory(1));
    EXPECT_FALSE(pool.PrefersOwnMemory(128 * kMiB));
    EXPECT_TRUE(pool.PrefersOwnMemory(128 * kMiB + 1));
    EXPECT_TRUE(pool.PrefersOwnMemory(4 * kGiB));
}

TEST(PoolTest, TooLarge) {
    FakeSource source;
    {
        Pool pool(LargeHeap(), source);
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(256 * kMiB + 1, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kTooLarge);
        EXPECT_EQ(pool.Allocate(kWholeSize, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kTooLarge);
        EXPECT_EQ(source.Calls(), 0u);
        ASSERT_EQ(pool.Allocate(256 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        EXPECT_EQ(a.offset, 0u);
        EXPECT_EQ(a.block->size, 256 * kMiB);
        pool.Free(a);
    }
    {
        PoolConfig config = LargeHeap();  // margins count
        config.marginAfter = 16;
        Pool pool(config, source);
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(256 * kMiB - 8, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kTooLarge);
        ASSERT_EQ(pool.Allocate(256 * kMiB - 16, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        pool.Free(a);
    }
}

TEST(PoolTest, AllocationsAreAlignedInBoundsAndDisjoint) {
    for (Algorithm algorithm : {Algorithm::kTlsf, Algorithm::kLinear, Algorithm::kBuddy}) {
        SCOPED_TRACE(static_cast<int>(algorithm));
        FakeSource source;
        PoolConfig config;
        config.algorithm = algorithm;
        config.heapSize = 512 * kMiB;  // 64 MiB preferred: 8, 16, 32, 64 MiB blocks
        config.marginBefore = 16;
        config.marginAfter = 32;
        Pool pool(config, source);
        std::mt19937 rng(42);
        std::vector<PoolAllocation> allocations;
        for (int i = 0; i < 3000; ++i) {
            const Size size = rng() % 3 == 0 ? (rng() % (4 * kMiB)) + 1 : (rng() % 8192) + 1;
            const Size alignment = Size{1} << (rng() % 17);
            PoolAllocation a;
            ASSERT_EQ(pool.Allocate(size, alignment, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
            ASSERT_NE(a.block, nullptr);
            EXPECT_EQ(a.size, size);
            EXPECT_EQ(a.offset % alignment, 0u);
            EXPECT_GE(a.offset, config.marginBefore);
            EXPECT_LE(a.offset + size + config.marginAfter, a.block->size);
            allocations.push_back(a);
            if (algorithm != Algorithm::kLinear && rng() % 4 == 0) {
                std::size_t at = rng() % allocations.size();
                pool.Free(allocations[at]);
                allocations.erase(allocations.begin() + static_cast<std::ptrdiff_t>(at));
            }
        }
        // No two allocations (with their margins) overlap within a block.
        std::map<std::uint32_t, std::vector<std::pair<Size, Size>>> byBlock;
        for (const PoolAllocation& a : allocations) {
            byBlock[a.block->id].push_back({a.offset - config.marginBefore, a.offset + a.size + config.marginAfter});
        }
        for (auto& [id, ranges] : byBlock) {
            std::sort(ranges.begin(), ranges.end());
            for (std::size_t i = 1; i < ranges.size(); ++i) {
                EXPECT_LE(ranges[i - 1].second, ranges[i].first) << "block " << id;
            }
        }
        ExpectValid(pool);
        for (const PoolAllocation& a : allocations) pool.Free(a);
        ExpectValid(pool);
    }
}

TEST(PoolTest, StatisticsAreExact) {
    FakeSource source;
    Pool pool(LargeHeap(), source);
    std::vector<PoolAllocation> allocations;
    Size bytes = 0;
    for (Size size : {Size{1000}, Size{4096}, 3 * kMiB, Size{7}, 20 * kMiB}) {
        PoolAllocation a;
        ASSERT_EQ(pool.Allocate(size, 64, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        allocations.push_back(a);
        bytes += size;
    }
    Statistics stats = pool.GetStatistics();
    EXPECT_EQ(stats.blockCount, 1u);
    EXPECT_EQ(stats.blockBytes, 32 * kMiB);
    EXPECT_EQ(stats.allocationCount, 5u);
    EXPECT_EQ(stats.allocationBytes, bytes);

    PoolAllocation big;  // 100 MiB needs a 256 MiB block
    ASSERT_EQ(pool.Allocate(100 * kMiB, 1, SuballocKind::kImageOptimal, nullptr, &big), PoolResult::kSuccess);
    stats = pool.GetStatistics();
    EXPECT_EQ(stats.blockCount, 2u);
    EXPECT_EQ(stats.blockBytes, 32 * kMiB + 256 * kMiB);
    EXPECT_EQ(stats.allocationCount, 6u);
    EXPECT_EQ(stats.allocationBytes, bytes + 100 * kMiB);

    DetailedStatistics detailed = pool.CalculateDetailedStatistics();
    EXPECT_EQ(detailed.statistics.blockCount, stats.blockCount);
    EXPECT_EQ(detailed.statistics.blockBytes, stats.blockBytes);
    EXPECT_EQ(detailed.statistics.allocationCount, stats.allocationCount);
    EXPECT_EQ(detailed.statistics.allocationBytes, stats.allocationBytes);
    EXPECT_EQ(detailed.allocationSizeMin, 7u);
    EXPECT_EQ(detailed.allocationSizeMax, 100 * kMiB);

    pool.Free(allocations[1]);
    stats = pool.GetStatistics();
    EXPECT_EQ(stats.allocationCount, 5u);
    EXPECT_EQ(stats.allocationBytes, bytes + 100 * kMiB - 4096);
    pool.Free(big);  // the 256 MiB block becomes the one kept empty block
    stats = pool.GetStatistics();
    EXPECT_EQ(stats.blockCount, 2u);
    EXPECT_EQ(stats.allocationCount, 4u);
    ExpectValid(pool);
    for (std::size_t i = 0; i < allocations.size(); ++i) {
        if (i != 1) pool.Free(allocations[i]);
    }
    stats = pool.GetStatistics();  // both empty: the larger one is kept
    EXPECT_EQ(stats.blockCount, 1u);
    EXPECT_EQ(stats.blockBytes, 256 * kMiB);
    EXPECT_EQ(stats.allocationCount, 0u);
    EXPECT_EQ(stats.allocationBytes, 0u);
    ExpectValid(pool);
}

TEST(PoolTest, ZeroSizeAndBadAlignmentAreRefused) {
    FakeSource source;
    Pool pool(LargeHeap(), source);
    PoolAllocation a;
    EXPECT_EQ(pool.Allocate(0, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kOutOfMemory);
    EXPECT_EQ(pool.Allocate(64, 3, SuballocKind::kBuffer, nullptr, &a), PoolResult::kOutOfMemory);
    ASSERT_EQ(pool.Allocate(64, 0, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);  // 0 means 1
    pool.Free(a);
    pool.Free(PoolAllocation{});  // null: no-op
    EXPECT_EQ(source.Calls(), 1u);
}

// Two blocks: #0 (32 MiB) nearly full, #1 (64 MiB) nearly empty. Default picks the fullest block
// that fits, MIN_TIME the emptiest.
std::uint32_t BlockChosenAfterSetup(std::uint32_t allocFlags) {
    FakeSource source;
    PoolConfig config = LargeHeap();
    config.allocFlags = allocFlags;
    Pool pool(config, source);
    std::vector<PoolAllocation> first;
    for (int i = 0; i < 32; ++i) {
        PoolAllocation a;
        EXPECT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        first.push_back(a);
    }
    PoolAllocation inSecond;
    EXPECT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &inSecond), PoolResult::kSuccess);
    EXPECT_EQ(source.Calls(), 2u);
    // With MIN_TIME the first 32 may have spread: find the 32 MiB block and free two of its slices.
    int freed = 0;
    for (auto& a : first) {
        if (a.block->size == 32 * kMiB && freed < 2) {
            pool.Free(a);
            a.block = nullptr;
            ++freed;
        }
    }
    PoolAllocation probe;
    EXPECT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &probe), PoolResult::kSuccess);
    const std::uint32_t chosen = probe.block->id;
    pool.Free(probe);
    pool.Free(inSecond);
    for (auto& a : first) {
        if (a.block != nullptr) pool.Free(a);
    }
    return chosen;
}

TEST(PoolTest, FullestBlockFirstByDefault) {
    EXPECT_EQ(BlockChosenAfterSetup(0), 0u);
    EXPECT_EQ(BlockChosenAfterSetup(kAllocStrategyMinMemory), 0u);
}

TEST(PoolTest, EmptiestBlockFirstForMinTime) { EXPECT_EQ(BlockChosenAfterSetup(kAllocStrategyMinTime), 1u); }

TEST(PoolTest, LinearPoolOnlyTriesTheLastBlock) {
    FakeSource source;
    PoolConfig config = LargeHeap();
    config.algorithm = Algorithm::kLinear;
    Pool pool(config, source);
    std::vector<PoolAllocation> first;
    for (int i = 0; i < 32; ++i) {
        PoolAllocation a;
        ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &a), PoolResult::kSuccess);
        first.push_back(a);
    }
    PoolAllocation second;
    ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &second), PoolResult::kSuccess);
    ASSERT_EQ(second.block->id, 1u);
    pool.Free(first.back());  // block 0 now has room at its end
    PoolAllocation probe;
    ASSERT_EQ(pool.Allocate(1 * kMiB, 1, SuballocKind::kBuffer, nullptr, &probe), PoolResult::kSuccess);
    EXPECT_EQ(probe.block->id, 1u);
    ExpectValid(pool);
    pool.Free(probe);
    pool.Free(second);
    for (std::size_t i = 0; i + 1 < first.size(); ++i) pool.Free(first[i]);
    ExpectValid(pool);
}

// 8 threads × 20,000 allocate/free on one pool whose source takes 1 ms per block, fails every 11th
// call, and fails everything during some windows. A shared interval map proves that no two live
// allocations overlap; at the end the pool validates and every block is back with the source.
TEST(PoolTest, ManyThreads) {
    constexpr int kThreads = 8;
    constexpr int kOpsPerThread = 20000;
    FakeSource source;
    source.sleepPerBlock = std::chrono::milliseconds(1);
    source.failEvery = 11;
    std::atomic<int> overlaps{0};
    {
        PoolConfig config;
        config.heapSize = 64 * kMiB;  // 8 MiB preferred: 1, 2, 4, 8 MiB blocks, many of them
        config.keepEmptyBlocks = 0;   // blocks come and go: exercises create/release races
        config.marginAfter = 16;
        Pool pool(config, source);

        std::mutex liveMutex;
        std::map<std::pair<const Block*, Size>, Size> live;  // (block, offset) → end
        auto claim = [&](const PoolAllocation& a) {
            std::lock_guard<std::mutex> lock(liveMutex);
            const auto key = std::make_pair(static_cast<const Block*>(a.block), a.offset);
            auto next = live.lower_bound(key);
            if (next != live.end() && next->first.first == a.block && next->first.second < a.offset + a.size) {
                ++overlaps;
            }
            if (next != live.begin()) {
                auto prev = std::prev(next);
                if (prev->first.first == a.block && prev->second > a.offset) ++overlaps;
            }
            live[key] = a.offset + a.size;
        };
        auto release = [&](const PoolAllocation& a) {
            std::lock_guard<std::mutex> lock(liveMutex);
            live.erase(std::make_pair(static_cast<const Block*>(a.block), a.offset));
        };

        auto work = [&](int seed) {
            std::mt19937 rng(static_cast<std::uint32_t>(seed));
            std::vector<PoolAllocation> mine;
            for (int op = 0; op < kOpsPerThread; ++op) {
                const bool allocate = mine.empty() || (mine.size() < 48 && rng() % 2 == 0);
                if (allocate) {
                    const Size size = rng() % 16 == 0 ? (rng() % (2 * kMiB)) + 1 : (rng() % 65536) + 1;
                    const Size alignment = Size{1} << (rng() % 13);
                    PoolAllocation a;
                    const PoolResult result = pool.Allocate(size, alignment, SuballocKind::kBuffer, nullptr, &a);
                    if (result == PoolResult::kSuccess) {
                        if (a.offset % alignment != 0 || a.offset + size + config.marginAfter > a.block->size) {
                            ++overlaps;
                        }
                        claim(a);
                        mine.push_back(a);
                    }
                } else {
                    const std::size_t at = rng() % mine.size();
                    release(mine[at]);
                    pool.Free(mine[at]);
                    mine[at] = mine.back();
                    mine.pop_back();
                }
                if (seed == 0 && op % 1000 == 0) source.failAll = !source.failAll;
                if (seed == 0 && op % 2000 == 0) {
                    std::string why;
                    if (!pool.Validate(&why)) ADD_FAILURE() << why;
                }
            }
            if (seed == 0) source.failAll = false;
            for (const PoolAllocation& a : mine) {
                release(a);
                pool.Free(a);
            }
        };
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
        for (std::thread& thread : threads) thread.join();

        EXPECT_EQ(overlaps.load(), 0);
        ExpectValid(pool);
        const Statistics stats = pool.GetStatistics();
        EXPECT_EQ(stats.allocationCount, 0u);
        EXPECT_EQ(stats.allocationBytes, 0u);
        EXPECT_EQ(stats.blockCount, 0u);
        EXPECT_EQ(source.LiveCount(), 0u);
    }
    EXPECT_GT(source.Calls(), source.AllocCount());  // the source did fail, and nothing hung or leaked
    EXPECT_EQ(source.AllocCount(), source.FreeCount());
    EXPECT_EQ(source.BadFrees(), 0u);
}

}  // namespace
}  // namespace vma::core
