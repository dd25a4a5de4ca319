// The state map writer: its output parsed back with nlohmann and checked against every rule of
// reference/vma-anchor.md §3 (state_map_checks.h), plus the exact numbers of small known states.
#include "state_map.h"

#include <gtest/gtest-spi.h>  // ScopedFakeTestPartResultReporter
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "pool.h"
#include "state_map_checks.h"

namespace vma::core {
namespace {

using vma::test::CheckStateMap;
using vma::test::StateJson;

class CountingSource : public BlockSource {
  public:
    bool AllocateBlock(Size, std::uint64_t* cookie) override {
        *cookie = ++next_;
        return true;
    }
    void FreeBlock(std::uint64_t, Size) override {}

  private:
    std::atomic<std::uint64_t> next_{0};
};

// What the test "binds" to each allocation: keyed by the userData pointer given to the pool.
struct Tag {
    SuballocKind kind;
    std::uint64_t usage;
    std::string name;
};

StateMapInput TwoHeapInput() {
    StateMapInput in;
    in.general.apiVersion = "1.3.230";
    in.general.gpu = "Test GPU";
    in.general.deviceType = 4;
    in.general.maxMemoryAllocationCount = 4096;
    in.general.bufferImageGranularity = 64;
    in.general.nonCoherentAtomSize = 64;
    in.general.extra = {{"Layer", std::string("VK_LAYER_VMA_suballocator")}, {"AppAllocations", 7u}};
    in.heaps = {{1ull << 30, 0x1, 800u << 20, 3u << 20}, {4ull << 30, 0, 3ull << 30, 0}};
    in.types = {{0, 0x1}, {1, 0x2 | 0x4}, {1, 0x2 | 0x4 | 0x8 | 0x100}};
    in.describe = [](const RangeInfo& r) {
        const Tag* t = static_cast<const Tag*>(r.userData);
        return t ? StateMapAllocation{t->kind, t->usage, t->name} : StateMapAllocation{};
    };
    return in;
}

PoolConfig SmallBlocks() {
    PoolConfig c;
    c.heapSize = 1ull << 30;
    c.preferredBlockSize = 1 << 20;
    c.fixedBlockSize = true;
    return c;
}

StateJson Parse(const std::string& text) {
    StateJson j = StateJson::parse(text);  // throws on invalid JSON: the test fails loudly
    return j;
}

TEST(StateMapTest, EmptyAllocatorHasEveryTopLevelKeyAndEmptyPools) {
    StateMapInput in = TwoHeapInput();
    const StateJson j = Parse(BuildStateMap(in));
    CheckStateMap(j);
    EXPECT_EQ(j["DefaultPools"], StateJson::object());
    EXPECT_EQ(j["CustomPools"], StateJson::object()) << "CustomPools is always written";
    EXPECT_EQ(j["General"]["memoryHeapCount"], 2);
    EXPECT_EQ(j["General"]["memoryTypeCount"], 3);
    EXPECT_EQ(j["General"]["Layer"], "VK_LAYER_VMA_suballocator") << "layer facts go at the end of General";
    EXPECT_EQ(j["General"]["AppAllocations"], 7);
    EXPECT_EQ(j["MemoryInfo"]["Heap 0"]["Flags"], StateJson::array({"DEVICE_LOCAL"}));
    EXPECT_EQ(j["MemoryInfo"]["Heap 1"]["Flags"], StateJson::array());
    EXPECT_EQ(j["MemoryInfo"]["Heap 1"]["MemoryPools"]["Type 2"]["Flags"],
              StateJson::array({"HOST_VISIBLE", "HOST_COHERENT", "HOST_CACHED", 0x100}))
        << "unknown bits are written as one number after the names";
    EXPECT_EQ(j["MemoryInfo"]["Heap 0"]["Budget"]["BudgetBytes"], 800u << 20);
    EXPECT_EQ(j["MemoryInfo"]["Heap 0"]["Budget"]["UsageBytes"], 3u << 20);
    EXPECT_EQ(j["Total"], StateJson::parse(R"({"BlockCount":0,"BlockBytes":0,"AllocationCount":0,
                                                "AllocationBytes":0,"UnusedRangeCount":0})"));
}

TEST(StateMapTest, BlocksAreCoveredExactlyAndStatsAddUp) {
    CountingSource source;
    Pool pool(SmallBlocks(), source);
    Tag vb{SuballocKind::kBuffer, 0x80, "VB"};
    Tag tex{SuballocKind::kImageOptimal, 0x6, ""};
    Tag unknown{SuballocKind::kUnknown, 0, ""};
    std::vector<PoolAllocation> allocations(6);
    ASSERT_EQ(pool.Allocate(4096, 256, SuballocKind::kUnknown, &vb, &allocations[0]), PoolResult::kSuccess);
    ASSERT_EQ(pool.Allocate(65536, 4096, SuballocKind::kUnknown, &tex, &allocations[1]), PoolResult::kSuccess);
    ASSERT_EQ(pool.Allocate(1000, 16, SuballocKind::kUnknown, &unknown, &allocations[2]), PoolResult::kSuccess);
    ASSERT_EQ(pool.Allocate(300000, 16, SuballocKind::kUnknown, &unknown, &allocations[3]), PoolResult::kSuccess);
    ASSERT_EQ(pool.Allocate(600000, 16, SuballocKind::kUnknown, &tex, &allocations[4]), PoolResult::kSuccess);
    ASSERT_EQ(pool.Allocate(500000, 16, SuballocKind::kUnknown, &vb, &allocations[5]), PoolResult::kSuccess);
    pool.Free(allocations[2]);  // a hole between two allocations
    allocations[2] = PoolAllocation{};  // freed: the loop at the end must not free it again

    StateMapInput in = TwoHeapInput();
    StateMapPool p;
    p.memoryType = 1;
    p.preferredBlockSize = pool.PreferredBlockSize();
    p.pool = &pool;
    p.mapRefCount = 1;
    p.blockFacts = {{"Algorithm", std::string("TLSF")}};
    p.dedicated = {{8u << 20, {SuballocKind::kImageOptimal, 0x20, "shadow map"}},
                   {2u << 20, {SuballocKind::kFree, 0, ""}}};
    in.pools.push_back(p);
    const StateJson j = Parse(BuildStateMap(in));
    CheckStateMap(j);

    const StateJson& type1 = j["DefaultPools"]["Type 1"];
    EXPECT_EQ(type1["PreferredBlockSize"], 1 << 20);
    ASSERT_EQ(type1["Blocks"].size(), 2u) << "1.4 MB of allocations need two 1 MiB blocks";
    std::uint64_t allocationsSeen = 0;
    bool sawName = false;
    for (const auto& [id, block] : type1["Blocks"].items()) {
        EXPECT_EQ(block["TotalBytes"], 1 << 20) << id;
        EXPECT_EQ(block["MapRefCount"], 1) << id;
        EXPECT_EQ(block["Algorithm"], "TLSF") << "block facts go at the end of each block entry";
        for (const StateJson& item : block["Suballocations"]) {
            if (item["Type"] == "FREE") continue;
            ++allocationsSeen;
            if (item.contains("Name")) {
                sawName = true;
                EXPECT_EQ(item["Name"], "VB");
                EXPECT_EQ(item["Type"], "BUFFER");
                EXPECT_EQ(item["Usage"], 0x80);
            }
        }
    }
    EXPECT_EQ(allocationsSeen, 5u);
    EXPECT_TRUE(sawName);
    const StateJson& dedicated = type1["DedicatedAllocations"];
    ASSERT_EQ(dedicated.size(), 2u);
    EXPECT_EQ(dedicated[0],
              StateJson::parse(R"({"Type":"IMAGE_OPTIMAL","Size":8388608,"Usage":32,"Name":"shadow map"})"));
    EXPECT_EQ(dedicated[1]["Type"], "UNKNOWN") << "FREE is never an allocation's type";
    // Two blocks and two dedicated allocations, all in heap 1.
    EXPECT_EQ(j["Total"]["BlockCount"], 4);
    EXPECT_EQ(j["Total"]["AllocationCount"], 7);
    EXPECT_EQ(j["MemoryInfo"]["Heap 1"]["Stats"], j["Total"]);
    EXPECT_EQ(j["MemoryInfo"]["Heap 0"]["Stats"]["BlockCount"], 0);
    for (auto& a : allocations) pool.Free(a);
}

TEST(StateMapTest, StatsPresenceFollowsVma) {
    // One allocation, one free range: no min/max at all.
    CountingSource source;
    Pool pool(SmallBlocks(), source);
    Tag t{SuballocKind::kBuffer, 1, ""};
    PoolAllocation a;
    ASSERT_EQ(pool.Allocate(4096, 16, SuballocKind::kUnknown, &t, &a), PoolResult::kSuccess);
    StateMapInput in = TwoHeapInput();
    StateMapPool p;
    p.memoryType = 0;
    p.pool = &pool;
    in.pools.push_back(p);
    StateJson j = Parse(BuildStateMap(in));
    CheckStateMap(j);
    EXPECT_FALSE(j["Total"].contains("AllocationSizeMin"));
    EXPECT_FALSE(j["Total"].contains("UnusedRangeSizeMin"));
    // Two allocations in two blocks: min/max for allocations and free ranges.
    in.pools[0].dedicated = {{1 << 20, {SuballocKind::kBuffer, 2, ""}}};
    Pool pool2(SmallBlocks(), source);
    PoolAllocation b, c;
    ASSERT_EQ(pool2.Allocate(8192, 16, SuballocKind::kUnknown, &t, &b), PoolResult::kSuccess);
    ASSERT_EQ(pool2.Allocate(8192, 16, SuballocKind::kUnknown, &t, &c), PoolResult::kSuccess);
    pool2.Free(b);  // free ranges: [0, 8192) and the tail
    StateMapPool p2;
    p2.memoryType = 0;
    p2.isDefault = false;
    p2.name = "device address";
    p2.pool = &pool2;
    in.pools.push_back(p2);
    j = Parse(BuildStateMap(in));
    CheckStateMap(j);
    EXPECT_EQ(j["Total"]["AllocationSizeMin"], 4096);
    EXPECT_EQ(j["Total"]["AllocationSizeMax"], 1 << 20);
    EXPECT_TRUE(j["Total"].contains("UnusedRangeSizeMin"));
    EXPECT_EQ(j["CustomPools"]["Type 0"][0]["Name"], "0 - device address");
    pool.Free(a);
    pool2.Free(c);
}

TEST(StateMapTest, MarginsCountAsFreeAndAreMergedWithNeighbours) {
    CountingSource source;
    PoolConfig config = SmallBlocks();
    config.marginBefore = 64;
    config.marginAfter = 64;
    Pool pool(config, source);
    Tag t{SuballocKind::kBuffer, 1, ""};
    std::vector<PoolAllocation> allocations(3);
    for (auto& a : allocations)
        ASSERT_EQ(pool.Allocate(1000, 16, SuballocKind::kUnknown, &t, &a), PoolResult::kSuccess);
    StateMapInput in = TwoHeapInput();
    StateMapPool p;
    p.pool = &pool;
    in.pools.push_back(p);
    const StateJson j = Parse(BuildStateMap(in));
    CheckStateMap(j);  // contiguity, no two FREE in a row, UnusedBytes = sum of FREE
    const StateJson& block = j["DefaultPools"]["Type 0"]["Blocks"].begin().value();
    EXPECT_EQ(block["Allocations"], 3);
    EXPECT_EQ(block["UnusedBytes"].get<std::uint64_t>(), (1u << 20) - 3 * 1000u)
        << "allocations keep their size; everything else, margins included, is free";
    for (auto& a : allocations) pool.Free(a);
}

TEST(StateMapTest, NamesWithInvalidUtf8AreReplacedNotThrown) {
    CountingSource source;
    Pool pool(SmallBlocks(), source);
    Tag t{SuballocKind::kBuffer, 1, std::string("bad \xff\xfe name \"quoted\"")};
    PoolAllocation a;
    ASSERT_EQ(pool.Allocate(4096, 16, SuballocKind::kUnknown, &t, &a), PoolResult::kSuccess);
    StateMapInput in = TwoHeapInput();
    StateMapPool p;
    p.pool = &pool;
    in.pools.push_back(p);
    const StateJson j = Parse(BuildStateMap(in, -1));
    CheckStateMap(j);
    const std::string name = vma::test::AllAllocations(j).at(0)["Name"];
    EXPECT_NE(name.find("name \"quoted\""), std::string::npos);
    pool.Free(a);
}

TEST(StateMapTest, ConcurrentAllocationsNeverBreakTheMap) {
    CountingSource source;
    Pool pool(SmallBlocks(), source);
    Tag t{SuballocKind::kBuffer, 1, ""};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&, i] {
            std::vector<PoolAllocation> live;
            std::uint64_t n = static_cast<std::uint64_t>(i) * 7919;
            while (!stop.load()) {
                n = n * 6364136223846793005ull + 1442695040888963407ull;
                if (live.size() < 64 && (n >> 60) < 10) {
                    PoolAllocation a;
                    if (pool.Allocate(256 + (n >> 48) % 20000, 64, SuballocKind::kUnknown, &t, &a) ==
                        PoolResult::kSuccess) {
                        live.push_back(a);
                    }
                } else if (!live.empty()) {
                    pool.Free(live[(n >> 32) % live.size()]);
                    live.erase(live.begin() + static_cast<std::ptrdiff_t>((n >> 32) % live.size()));
                }
            }
            for (auto& a : live) pool.Free(a);
        });
    }
    StateMapInput in = TwoHeapInput();
    StateMapPool p;
    p.pool = &pool;
    in.pools.push_back(p);
    for (int i = 0; i < 50; ++i) CheckStateMap(Parse(BuildStateMap(in, -1)));
    stop = true;
    for (auto& th : threads) th.join();
}

// The checks above would notice a writer that broke a rule: each mutation of a valid map fails them.
// Runs the checks on `j` and returns their failure messages, one a line ("" when none failed).
std::string CheckFailures(const StateJson& j) {
    ::testing::TestPartResultArray results;
    {
        ::testing::ScopedFakeTestPartResultReporter reporter(
            ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
        CheckStateMap(j);
    }
    std::string all;
    for (int i = 0; i < results.size(); ++i) all += std::string(results.GetTestPartResult(i).message()) + "\n";
    return all;
}

TEST(StateMapTest, ChecksCatchBrokenMaps) {
    CountingSource source;
    Pool pool(SmallBlocks(), source);
    Tag t{SuballocKind::kBuffer, 0x80, ""};
    PoolAllocation a, b;
    ASSERT_EQ(pool.Allocate(4096, 16, SuballocKind::kUnknown, &t, &a), PoolResult::kSuccess);
    ASSERT_EQ(pool.Allocate(4096, 16, SuballocKind::kUnknown, &t, &b), PoolResult::kSuccess);
    StateMapInput in = TwoHeapInput();
    StateMapPool p;
    p.pool = &pool;
    p.dedicated = {{1 << 20, {SuballocKind::kBuffer, 2, ""}}};
    in.pools.push_back(p);
    const StateJson good = Parse(BuildStateMap(in));
    CheckStateMap(good);
    StateJson broken;
    auto suballocations = [&]() -> StateJson& {
        return broken["DefaultPools"]["Type 0"]["Blocks"]["0"]["Suballocations"];
    };
    auto expectCaught = [&](const char* what) {
        const std::string failures = CheckFailures(broken);
        EXPECT_NE(failures.find(what), std::string::npos)
            << "a map with a broken rule passed the checks (" << what << "):\n"
            << failures;
    };

    broken = good;
    suballocations().erase(suballocations().size() - 1);  // the tail FREE range is missing
    expectCaught("sum to TotalBytes");
    broken = good;
    suballocations()[1]["Offset"] = 1;
    expectCaught("contiguous");
    broken = good;
    suballocations()[0]["Type"] = "TEXTURE";
    expectCaught("TEXTURE");
    broken = good;
    broken["DefaultPools"]["Type 0"]["Blocks"]["0"]["UnusedBytes"] = 1;
    expectCaught("UnusedBytes");
    broken = good;
    broken["DefaultPools"]["Type 0"]["DedicatedAllocations"][0].erase("Usage");
    expectCaught("dedicated");
    broken = good;
    broken["DefaultPools"]["Type 0"]["DedicatedAllocations"][0]["Offset"] = 0;
    expectCaught("dedicated");
    broken = good;
    broken["Total"]["AllocationSizeMin"] = 0;  // three allocations: present; remove it instead
    broken["Total"].erase("AllocationSizeMin");
    expectCaught("Total");
    broken = good;
    broken["MemoryInfo"]["Heap 0"]["Stats"]["UnusedRangeSizeMin"] = 1;  // one free range: must be absent
    expectCaught("Heap 0");
    broken = good;
    broken["MemoryInfo"]["Heap 0"]["Stats"]["BlockCount"] = 7;
    expectCaught("Heap 0");
    pool.Free(a);
    pool.Free(b);
}

}  // namespace
}  // namespace vma::core
