// Checks a state map against every rule of reference/vma-anchor.md §3 (the shape GpuMemDumpVis
// reads): key order of VMA's writer, Stats presence rules, blocks covered exactly by their
// suballocations, statistics that add up from blocks to types, heaps and Total. Shared by the core
// test (state_map_test.cpp) and the layer test (tests/layer/dump_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace vma::test {

using StateJson = nlohmann::ordered_json;

inline std::vector<std::string> Keys(const StateJson& object) {
    std::vector<std::string> keys;
    for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
    return keys;
}

// Counters summed the way VMA sums them (each dedicated allocation: one block, one allocation).
struct StateSums {
    std::uint64_t blockCount = 0, blockBytes = 0, allocationCount = 0, allocationBytes = 0, unusedRangeCount = 0;
    std::uint64_t allocationMin = UINT64_MAX, allocationMax = 0, unusedMin = UINT64_MAX, unusedMax = 0;
    void Allocation(std::uint64_t size) {
        ++allocationCount;
        allocationBytes += size;
        allocationMin = std::min(allocationMin, size);
        allocationMax = std::max(allocationMax, size);
    }
    void Unused(std::uint64_t size) {
        ++unusedRangeCount;
        unusedMin = std::min(unusedMin, size);
        unusedMax = std::max(unusedMax, size);
    }
    void Add(const StateSums& o) {
        blockCount += o.blockCount;
        blockBytes += o.blockBytes;
        allocationCount += o.allocationCount;
        allocationBytes += o.allocationBytes;
        unusedRangeCount += o.unusedRangeCount;
        allocationMin = std::min(allocationMin, o.allocationMin);
        allocationMax = std::max(allocationMax, o.allocationMax);
        unusedMin = std::min(unusedMin, o.unusedMin);
        unusedMax = std::max(unusedMax, o.unusedMax);
    }
};

// §3.2: exactly these keys, in this order; min/max only where more than one item was counted.
inline void CheckStats(const StateJson& stats, const StateSums& expected, const std::string& where) {
    std::vector<std::string> keys = {"BlockCount", "BlockBytes", "AllocationCount", "AllocationBytes",
                                     "UnusedRangeCount"};
    if (expected.allocationCount > 1) keys.insert(keys.end(), {"AllocationSizeMin", "AllocationSizeMax"});
    if (expected.unusedRangeCount > 1) keys.insert(keys.end(), {"UnusedRangeSizeMin", "UnusedRangeSizeMax"});
    ASSERT_TRUE(stats.is_object()) << where;
    EXPECT_EQ(Keys(stats), keys) << where;
    EXPECT_EQ(stats.value("BlockCount", 0ull), expected.blockCount) << where;
    EXPECT_EQ(stats.value("BlockBytes", 0ull), expected.blockBytes) << where;
    EXPECT_EQ(stats.value("AllocationCount", 0ull), expected.allocationCount) << where;
    EXPECT_EQ(stats.value("AllocationBytes", 0ull), expected.allocationBytes) << where;
    EXPECT_EQ(stats.value("UnusedRangeCount", 0ull), expected.unusedRangeCount) << where;
    if (expected.allocationCount > 1) {
        EXPECT_EQ(stats.value("AllocationSizeMin", 0ull), expected.allocationMin) << where;
        EXPECT_EQ(stats.value("AllocationSizeMax", 0ull), expected.allocationMax) << where;
    }
    if (expected.unusedRangeCount > 1) {
        EXPECT_EQ(stats.value("UnusedRangeSizeMin", 0ull), expected.unusedMin) << where;
        EXPECT_EQ(stats.value("UnusedRangeSizeMax", 0ull), expected.unusedMax) << where;
    }
}

inline bool IsAllowedType(const std::string& type) {
    static const std::set<std::string> kTypes = {"UNKNOWN", "BUFFER", "IMAGE_UNKNOWN", "IMAGE_LINEAR", "IMAGE_OPTIMAL"};
    return kTypes.count(type) != 0;
}

// Keys of an allocation item, in VMA's order ("Offset" only in blocks).
inline void CheckAllocationKeys(const StateJson& item, bool inBlock, const std::string& where) {
    std::vector<std::string> expected;
    if (inBlock) expected.push_back("Offset");
    expected.insert(expected.end(), {"Type", "Size", "Usage"});
    if (item.contains("CustomData")) expected.push_back("CustomData");
    if (item.contains("Name")) expected.push_back("Name");
    EXPECT_EQ(Keys(item), expected) << where << ": " << item.dump();
    EXPECT_TRUE(IsAllowedType(item.value("Type", std::string()))) << where << ": " << item.dump();
    EXPECT_TRUE(item.contains("Usage") && item["Usage"].is_number_unsigned()) << where;
    if (item.value("Type", std::string()) == "UNKNOWN") {
        EXPECT_EQ(item.value("Usage", 1ull), 0u) << where;
    }
    if (item.contains("Name")) {
        EXPECT_TRUE(item["Name"].is_string()) << where;
    }
}

inline void CheckBlock(const StateJson& block, std::uint32_t mapRefCountMax, StateSums& sums,
                       const std::string& where) {
    const std::vector<std::string> vmaKeys = {"MapRefCount", "TotalBytes",   "UnusedBytes",
                                              "Allocations", "UnusedRanges", "Suballocations"};
    const std::vector<std::string> keys = Keys(block);
    ASSERT_GE(keys.size(), vmaKeys.size()) << where;
    EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + vmaKeys.size()), vmaKeys)
        << where << ": VMA's keys first, in VMA's order";
    EXPECT_LE(block["MapRefCount"].get<std::uint64_t>(), mapRefCountMax) << where;
    const std::uint64_t total = block["TotalBytes"].get<std::uint64_t>();
    std::uint64_t offset = 0, unused = 0, allocations = 0, unusedRanges = 0;
    bool lastFree = false;
    StateSums s;
    s.blockCount = 1;
    s.blockBytes = total;
    for (const StateJson& item : block["Suballocations"]) {
        const std::string w = where + " @" + std::to_string(offset);
        const std::uint64_t size = item.value("Size", 0ull);
        EXPECT_EQ(item.value("Offset", UINT64_MAX), offset) << w << ": suballocations must be contiguous, in order";
        EXPECT_GT(size, 0u) << w;
        if (item.value("Type", std::string()) == "FREE") {
            EXPECT_EQ(Keys(item), (std::vector<std::string>{"Offset", "Type", "Size"})) << w;
            EXPECT_FALSE(lastFree) << w << ": two FREE ranges in a row";
            lastFree = true;
            unused += size;
            ++unusedRanges;
            s.Unused(size);
        } else {
            CheckAllocationKeys(item, true, w);
            lastFree = false;
            ++allocations;
            s.Allocation(size);
        }
        offset += size;
    }
    EXPECT_EQ(offset, total) << where << ": suballocations must sum to TotalBytes";
    EXPECT_EQ(block["UnusedBytes"].get<std::uint64_t>(), unused) << where;
    EXPECT_EQ(block["Allocations"].get<std::uint64_t>(), allocations) << where;
    EXPECT_EQ(block["UnusedRanges"].get<std::uint64_t>(), unusedRanges) << where;
    sums.Add(s);
}

// One DefaultPools / CustomPools entry; adds what it holds to `sums`.
inline void CheckPool(const StateJson& pool, bool custom, StateSums& sums, const std::string& where) {
    std::vector<std::string> keys = {"PreferredBlockSize", "Blocks", "DedicatedAllocations"};
    if (custom) keys.insert(keys.begin(), "Name");
    EXPECT_EQ(Keys(pool), keys) << where;
    if (custom) {
        EXPECT_TRUE(pool["Name"].is_string()) << where;
    }
    EXPECT_TRUE(pool["PreferredBlockSize"].is_number_unsigned()) << where;
    ASSERT_TRUE(pool["Blocks"].is_object()) << where;
    for (auto it = pool["Blocks"].begin(); it != pool["Blocks"].end(); ++it) {
        EXPECT_EQ(std::to_string(std::stoull(it.key())), it.key()) << where << ": block ids are decimal";
        CheckBlock(it.value(), 1, sums, where + " block " + it.key());
    }
    ASSERT_TRUE(pool["DedicatedAllocations"].is_array()) << where;
    for (const StateJson& d : pool["DedicatedAllocations"]) {
        CheckAllocationKeys(d, false, where + " dedicated");
        const std::uint64_t size = d.value("Size", 0ull);
        sums.blockCount += 1;
        sums.blockBytes += size;
        sums.Allocation(size);
    }
}

// Every rule of §3; reports each broken rule (a missing or mistyped key is one too).
inline void CheckStateMapRules(const StateJson& j) {
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(Keys(j), (std::vector<std::string>{"General", "Total", "MemoryInfo", "DefaultPools", "CustomPools"}));
    const StateJson& general = j["General"];
    const std::vector<std::string> generalKeys = {"API",
                                                  "apiVersion",
                                                  "GPU",
                                                  "deviceType",
                                                  "maxMemoryAllocationCount",
                                                  "bufferImageGranularity",
                                                  "nonCoherentAtomSize",
                                                  "memoryHeapCount",
                                                  "memoryTypeCount"};
    const std::vector<std::string> gk = Keys(general);
    ASSERT_GE(gk.size(), generalKeys.size());
    EXPECT_EQ(std::vector<std::string>(gk.begin(), gk.begin() + generalKeys.size()), generalKeys);
    EXPECT_EQ(general["API"], "Vulkan");
    const std::uint64_t heapCount = general["memoryHeapCount"].get<std::uint64_t>();
    const std::uint64_t typeCount = general["memoryTypeCount"].get<std::uint64_t>();

    // Per type: what its pools hold.
    std::vector<StateSums> typeSums(typeCount);
    for (auto it = j["DefaultPools"].begin(); it != j["DefaultPools"].end(); ++it) {
        ASSERT_EQ(it.key().rfind("Type ", 0), 0u) << it.key();
        const std::uint64_t t = std::stoull(it.key().substr(5));
        ASSERT_LT(t, typeCount) << it.key();
        CheckPool(it.value(), false, typeSums[t], "DefaultPools " + it.key());
    }
    ASSERT_TRUE(j["CustomPools"].is_object());
    for (auto it = j["CustomPools"].begin(); it != j["CustomPools"].end(); ++it) {
        ASSERT_EQ(it.key().rfind("Type ", 0), 0u) << it.key();
        const std::uint64_t t = std::stoull(it.key().substr(5));
        ASSERT_LT(t, typeCount) << it.key();
        ASSERT_TRUE(it.value().is_array()) << it.key();
        for (const StateJson& pool : it.value()) CheckPool(pool, true, typeSums[t], "CustomPools " + it.key());
    }

    // MemoryInfo: heaps in order, each type under its heap once; sums types → heaps → Total.
    const StateJson& info = j["MemoryInfo"];
    ASSERT_EQ(info.size(), heapCount);
    StateSums total;
    std::set<std::string> typesSeen;
    static const std::set<std::string> kHeapFlags = {"DEVICE_LOCAL", "MULTI_INSTANCE"};
    static const std::set<std::string> kTypeFlags = {"DEVICE_LOCAL",        "HOST_VISIBLE",       "HOST_COHERENT",
                                                     "HOST_CACHED",         "LAZILY_ALLOCATED",   "PROTECTED",
                                                     "DEVICE_COHERENT_AMD", "DEVICE_UNCACHED_AMD"};
    auto checkFlags = [](const StateJson& flags, const std::set<std::string>& names, const std::string& where) {
        ASSERT_TRUE(flags.is_array()) << where;
        for (const StateJson& f : flags) EXPECT_TRUE(f.is_number() || names.count(f.get<std::string>())) << where;
    };
    for (std::uint64_t h = 0; h < heapCount; ++h) {
        const std::string name = "Heap " + std::to_string(h);
        ASSERT_TRUE(info.contains(name)) << name;
        const StateJson& heap = info[name];
        EXPECT_EQ(Keys(heap), (std::vector<std::string>{"Flags", "Size", "Budget", "Stats", "MemoryPools"})) << name;
        checkFlags(heap["Flags"], kHeapFlags, name);
        EXPECT_EQ(Keys(heap["Budget"]), (std::vector<std::string>{"BudgetBytes", "UsageBytes"})) << name;
        StateSums heapSums;
        for (auto it = heap["MemoryPools"].begin(); it != heap["MemoryPools"].end(); ++it) {
            const std::uint64_t t = std::stoull(it.key().substr(5));
            ASSERT_LT(t, typeCount) << it.key();
            EXPECT_TRUE(typesSeen.insert(it.key()).second) << it.key() << " under two heaps";
            EXPECT_EQ(Keys(it.value()), (std::vector<std::string>{"Flags", "Stats"})) << it.key();
            checkFlags(it.value()["Flags"], kTypeFlags, it.key());
            CheckStats(it.value()["Stats"], typeSums[t], name + " " + it.key());
            heapSums.Add(typeSums[t]);
        }
        CheckStats(heap["Stats"], heapSums, name);
        total.Add(heapSums);
    }
    EXPECT_EQ(typesSeen.size(), typeCount);
    CheckStats(j["Total"], total, "Total");
}

inline void CheckStateMap(const StateJson& j) {
    try {
        CheckStateMapRules(j);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "malformed state map: " << e.what();
    }
}

// Every allocation item of the map (blocks and dedicated), for tests that look for one.
inline std::vector<StateJson> AllAllocations(const StateJson& j) {
    std::vector<StateJson> out;
    auto fromPool = [&](const StateJson& pool) {
        for (const auto& [id, block] : pool["Blocks"].items()) {
            for (const StateJson& item : block["Suballocations"]) {
                if (item["Type"] != "FREE") out.push_back(item);
            }
        }
        for (const StateJson& d : pool["DedicatedAllocations"]) out.push_back(d);
    };
    for (const auto& [type, pool] : j["DefaultPools"].items()) fromPool(pool);
    for (const auto& [type, pools] : j["CustomPools"].items()) {
        for (const StateJson& pool : pools) fromPool(pool);
    }
    return out;
}

}  // namespace vma::test
