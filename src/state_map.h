// The state map ("dump"): the whole allocator state as JSON in VMA's
// vmaBuildStatsString(detailedMap = VK_TRUE) format, so that VMA's GpuMemDumpVis.py (and our
// scripts/vma-dump-vis) draw it unchanged. Shape (reference/vma-anchor.md §3):
//
//   {"General": {...}, "Total": Stats, "MemoryInfo": {"Heap i": {Flags, Size, Budget, Stats,
//    "MemoryPools": {"Type j": {Flags, Stats}}}},
//    "DefaultPools": {"Type j": {PreferredBlockSize, Blocks, DedicatedAllocations}},
//    "CustomPools": {"Type j": [{Name, PreferredBlockSize, Blocks, DedicatedAllocations}]}}
//
// Invariants the writer guarantees (and tests/core/state_map_test.cpp checks):
//   - each block's Suballocations are in offset order and cover the block exactly (free ranges and
//     margins as "FREE"); UnusedBytes is the sum of the FREE ranges, UnusedRanges their count;
//   - Stats objects have exactly VMA's keys: the five counters always, AllocationSizeMin/Max only
//     when AllocationCount > 1, UnusedRangeSizeMin/Max only when UnusedRangeCount > 1;
//   - a type's Stats count its blocks and dedicated allocations (each dedicated allocation is one
//     block and one allocation, as in VMA); heap Stats sum their types, Total sums the heaps;
//   - the numbers come from one walk of each pool under its lock, so Stats and Blocks agree even
//     while other threads allocate.
// Facts that are not VMA's go only where the schema leaves room: `General.extra` at the end of
// "General", `PoolInfo::blockFacts` at the end of each "Blocks" entry.
//
// The core stays Vulkan-free: the caller (the layer) fills the plain structs below.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "metadata.h"
#include "types.h"

namespace vma::core {

class Pool;

// One key/value the caller adds to an open object ("General", a "Blocks" entry).
struct StateMapFact {
    std::string key;
    std::variant<std::uint64_t, std::string> value;
};

struct StateMapGeneral {
    std::string api = "Vulkan";
    std::string apiVersion;  // "M.m.p"
    std::string gpu;
    std::uint32_t deviceType = 0;
    std::uint64_t maxMemoryAllocationCount = 0;
    Size bufferImageGranularity = 0;
    Size nonCoherentAtomSize = 0;
    std::vector<StateMapFact> extra;  // written after VMA's keys
};

struct StateMapHeap {
    Size size = 0;
    std::uint32_t flags = 0;  // VkMemoryHeapFlags
    Size budgetBytes = 0;
    Size usageBytes = 0;
};

struct StateMapType {
    std::uint32_t heapIndex = 0;
    std::uint32_t flags = 0;  // VkMemoryPropertyFlags
};

// What one allocation is, as the Suballocations / DedicatedAllocations items say it.
struct StateMapAllocation {
    SuballocKind kind = SuballocKind::kUnknown;  // never kFree
    std::uint64_t usage = 0;                     // buffer or image usage flags; 0 for UNKNOWN
    std::string name;                            // written as "Name" when not empty
};

struct StateMapDedicated {
    Size size = 0;
    StateMapAllocation allocation;
};

// One pool: its blocks (walked under the pool's lock) and the dedicated allocations filed with it.
struct StateMapPool {
    std::uint32_t memoryType = 0;
    bool isDefault = true;  // DefaultPools "Type N" (at most one per type); else CustomPools
    std::string name;       // custom pools: "<index within the type> - <name>" is written
    Size preferredBlockSize = 0;
    const Pool* pool = nullptr;            // null: no blocks
    std::uint32_t mapRefCount = 0;         // written as each block's MapRefCount
    std::vector<StateMapFact> blockFacts;  // added at the end of each "Blocks" entry
    std::vector<StateMapDedicated> dedicated;
};

struct StateMapInput {
    StateMapGeneral general;
    std::vector<StateMapHeap> heaps;
    std::vector<StateMapType> types;
    std::vector<StateMapPool> pools;
    // Describes a non-free range of a block; called with the range's pool lock held, so it must
    // take no lock the pool's users could hold while calling into the pool.
    std::function<StateMapAllocation(const RangeInfo&)> describe;
};

// Builds the JSON text (indented by `indent` spaces; negative: one line).
std::string BuildStateMap(const StateMapInput& input, int indent = 2);

}  // namespace vma::core
