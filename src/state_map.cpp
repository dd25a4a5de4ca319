// The state map writer (see state_map.h). Three steps: snapshot every pool's blocks under the
// pool's lock (one pool at a time), sum the statistics from that snapshot, then write the JSON
// with nlohmann::ordered_json, which keeps keys in the order VMA writes them.
#include "state_map.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "pool.h"

namespace vma::core {
namespace {

using Json = nlohmann::ordered_json;

// Vulkan flag bits, restated (the core includes no Vulkan header).
struct FlagName {
    std::uint32_t bit;
    const char* name;
};
constexpr FlagName kHeapFlags[] = {{0x1, "DEVICE_LOCAL"}, {0x2, "MULTI_INSTANCE"}};
constexpr FlagName kTypeFlags[] = {{0x1, "DEVICE_LOCAL"},         {0x2, "HOST_VISIBLE"},        {0x4, "HOST_COHERENT"},
                                   {0x8, "HOST_CACHED"},          {0x10, "LAZILY_ALLOCATED"},   {0x20, "PROTECTED"},
                                   {0x40, "DEVICE_COHERENT_AMD"}, {0x80, "DEVICE_UNCACHED_AMD"}};

// VMA writes the known bits by name, then any leftover bits as one number.
template <std::size_t N>
Json Flags(std::uint32_t flags, const FlagName (&names)[N]) {
    Json out = Json::array();
    for (const FlagName& f : names) {
        if (flags & f.bit) {
            out.push_back(f.name);
            flags &= ~f.bit;
        }
    }
    if (flags) out.push_back(flags);
    return out;
}

// VmaPrintDetailedStatistics: min/max only where more than one item was counted.
Json StatsJson(const DetailedStatistics& s) {
    Json j;
    j["BlockCount"] = s.statistics.blockCount;
    j["BlockBytes"] = s.statistics.blockBytes;
    j["AllocationCount"] = s.statistics.allocationCount;
    j["AllocationBytes"] = s.statistics.allocationBytes;
    j["UnusedRangeCount"] = s.unusedRangeCount;
    if (s.statistics.allocationCount > 1) {
        j["AllocationSizeMin"] = s.allocationSizeMin;
        j["AllocationSizeMax"] = s.allocationSizeMax;
    }
    if (s.unusedRangeCount > 1) {
        j["UnusedRangeSizeMin"] = s.unusedRangeSizeMin;
        j["UnusedRangeSizeMax"] = s.unusedRangeSizeMax;
    }
    return j;
}

void AddFacts(Json& object, const std::vector<StateMapFact>& facts) {
    for (const StateMapFact& f : facts) {
        std::visit([&](const auto& v) { object[f.key] = v; }, f.value);
    }
}

void AddAllocationKeys(Json& item, const StateMapAllocation& a) {
    // FREE is never an allocation's type: a caller that cannot tell says UNKNOWN.
    const SuballocKind kind = a.kind == SuballocKind::kFree ? SuballocKind::kUnknown : a.kind;
    item["Type"] = SuballocKindName(kind);
}

struct RangeSnapshot {
    Size offset = 0;
    Size size = 0;
    bool free = true;
    StateMapAllocation allocation;
};

struct BlockSnapshot {
    std::uint32_t id = 0;
    Size size = 0;
    std::vector<RangeSnapshot> ranges;
};

// One walk of the pool under its lock. Adjacent free ranges (e.g. a margin next to a free range)
// are merged, as VMA never writes two FREE items in a row.
std::vector<BlockSnapshot> SnapshotPool(const StateMapPool& p,
                                        const std::function<StateMapAllocation(const RangeInfo&)>& describe) {
    std::vector<BlockSnapshot> blocks;
    if (!p.pool) return blocks;
    p.pool->ForEachBlock([&](const Block& block) {
        BlockSnapshot b;
        b.id = block.id;
        b.size = block.size;
        block.metadata->Walk([&](const RangeInfo& r) {
            if (r.size == 0) return;
            if (r.free && !b.ranges.empty() && b.ranges.back().free) {
                b.ranges.back().size += r.size;
                return;
            }
            RangeSnapshot s;
            s.offset = r.offset;
            s.size = r.size;
            s.free = r.free;
            if (!r.free && describe) s.allocation = describe(r);
            b.ranges.push_back(std::move(s));
        });
        blocks.push_back(std::move(b));
    });
    return blocks;
}

Json BlocksJson(const StateMapPool& p, const std::vector<BlockSnapshot>& blocks, DetailedStatistics& typeStats) {
    Json out = Json::object();
    for (const BlockSnapshot& b : blocks) {
        DetailedStatistics s;
        s.statistics.blockCount = 1;
        s.statistics.blockBytes = b.size;
        Size unused = 0;
        Json items = Json::array();
        for (const RangeSnapshot& r : b.ranges) {
            Json item;
            item["Offset"] = r.offset;
            if (r.free) {
                item["Type"] = "FREE";
                item["Size"] = r.size;
                s.AddUnusedRange(r.size);
                unused += r.size;
            } else {
                AddAllocationKeys(item, r.allocation);
                item["Size"] = r.size;
                item["Usage"] = r.allocation.usage;
                if (!r.allocation.name.empty()) item["Name"] = r.allocation.name;
                s.AddAllocation(r.size);
            }
            items.push_back(std::move(item));
        }
        typeStats.Add(s);
        Json block;
        block["MapRefCount"] = p.mapRefCount;
        block["TotalBytes"] = b.size;
        block["UnusedBytes"] = unused;
        block["Allocations"] = s.statistics.allocationCount;
        block["UnusedRanges"] = s.unusedRangeCount;
        block["Suballocations"] = std::move(items);
        AddFacts(block, p.blockFacts);
        out[std::to_string(b.id)] = std::move(block);
    }
    return out;
}

Json DedicatedJson(const std::vector<StateMapDedicated>& dedicated, DetailedStatistics& typeStats) {
    Json out = Json::array();
    for (const StateMapDedicated& d : dedicated) {
        Json item;
        AddAllocationKeys(item, d.allocation);
        item["Size"] = d.size;
        item["Usage"] = d.allocation.usage;  // GpuMemDumpVis requires it on dedicated allocations
        if (!d.allocation.name.empty()) item["Name"] = d.allocation.name;
        out.push_back(std::move(item));
        // Each dedicated allocation is one block and one allocation (VMA).
        typeStats.statistics.blockCount += 1;
        typeStats.statistics.blockBytes += d.size;
        typeStats.AddAllocation(d.size);
    }
    return out;
}

}  // namespace

std::string BuildStateMap(const StateMapInput& input, int indent) {
    const std::size_t typeCount = input.types.size();
    std::vector<DetailedStatistics> typeStats(typeCount);

    // Pools: snapshot and write the detailed part first; it is what the statistics are summed from.
    Json defaultPools = Json::object();
    std::map<std::uint32_t, Json> customPools;  // by type; arrays in input order
    std::map<std::uint32_t, std::uint32_t> customIndex;
    for (const StateMapPool& p : input.pools) {
        if (p.memoryType >= typeCount) continue;
        const std::vector<BlockSnapshot> blocks = SnapshotPool(p, input.describe);
        Json pool;
        if (!p.isDefault) {
            const std::uint32_t index = customIndex[p.memoryType]++;
            pool["Name"] = p.name.empty() ? std::to_string(index) : std::to_string(index) + " - " + p.name;
        }
        pool["PreferredBlockSize"] = p.preferredBlockSize;
        pool["Blocks"] = BlocksJson(p, blocks, typeStats[p.memoryType]);
        pool["DedicatedAllocations"] = DedicatedJson(p.dedicated, typeStats[p.memoryType]);
        const std::string key = "Type " + std::to_string(p.memoryType);
        if (p.isDefault) {
            defaultPools[key] = std::move(pool);
        } else {
            Json& list = customPools[p.memoryType];
            if (list.is_null()) list = Json::array();
            list.push_back(std::move(pool));
        }
    }

    Json root;
    Json& general = root["General"];
    general["API"] = input.general.api;
    general["apiVersion"] = input.general.apiVersion;
    general["GPU"] = input.general.gpu;
    general["deviceType"] = input.general.deviceType;
    general["maxMemoryAllocationCount"] = input.general.maxMemoryAllocationCount;
    general["bufferImageGranularity"] = input.general.bufferImageGranularity;
    general["nonCoherentAtomSize"] = input.general.nonCoherentAtomSize;
    general["memoryHeapCount"] = input.heaps.size();
    general["memoryTypeCount"] = typeCount;
    AddFacts(general, input.general.extra);

    std::vector<DetailedStatistics> heapStats(input.heaps.size());
    DetailedStatistics total;
    for (std::size_t t = 0; t < typeCount; ++t) {
        if (input.types[t].heapIndex < heapStats.size()) heapStats[input.types[t].heapIndex].Add(typeStats[t]);
    }
    for (const DetailedStatistics& h : heapStats) total.Add(h);
    root["Total"] = StatsJson(total);

    Json& memoryInfo = root["MemoryInfo"];
    memoryInfo = Json::object();
    for (std::size_t h = 0; h < input.heaps.size(); ++h) {
        const StateMapHeap& heap = input.heaps[h];
        Json j;
        j["Flags"] = Flags(heap.flags, kHeapFlags);
        j["Size"] = heap.size;
        j["Budget"] = {{"BudgetBytes", heap.budgetBytes}, {"UsageBytes", heap.usageBytes}};
        j["Stats"] = StatsJson(heapStats[h]);
        Json types = Json::object();
        for (std::size_t t = 0; t < typeCount; ++t) {
            if (input.types[t].heapIndex != h) continue;
            types["Type " + std::to_string(t)] = {{"Flags", Flags(input.types[t].flags, kTypeFlags)},
                                                  {"Stats", StatsJson(typeStats[t])}};
        }
        j["MemoryPools"] = std::move(types);
        memoryInfo["Heap " + std::to_string(h)] = std::move(j);
    }

    root["DefaultPools"] = std::move(defaultPools);
    Json& custom = root["CustomPools"];
    custom = Json::object();  // always written, possibly {}
    for (auto& [type, list] : customPools) custom["Type " + std::to_string(type)] = std::move(list);

    // Names come from the application: replace invalid UTF-8 instead of throwing.
    return root.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace vma::core
