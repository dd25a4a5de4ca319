// The memory manager of one device: virtual VkDeviceMemory handles, the slot table behind them,
// the pools they are carved from, and the per-handle record every intercept reads.
//
// A virtual handle encodes {device tag, generation, slot}; decoding is lock-free, and a stale,
// forged or foreign handle is recognised before anything is dereferenced. The app only ever sees
// virtual handles; the driver only ever sees real ones (blocks or own allocations).
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "period_gate.h"
#include "pool.h"
#include "vk_local.h"

namespace vma::layer {

struct DeviceData;
class PoolState;

// The block record behind a BlockSource cookie: one real VkDeviceMemory, mapped once for its
// whole life when its type is host-visible.
struct DriverBlock {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    std::uint8_t* mapped = nullptr;
    VkDeviceSize size = 0;
    VkBuffer guardBuffer = VK_NULL_HANDLE;  // over the whole block, for device-local margin checks
};

// One record per slot, 64-byte aligned. The first cache line holds everything allocate, free,
// lookup and bind touch; the second what map, unmap and flush add.
struct alignas(64) MemoryObject {
    std::atomic<std::uint32_t> generation{1};  // bumped on free; part of the handle
    std::atomic<bool> live{false};
    bool pooled = false;
    // Host mapping as the app sees it (written only by calls the app synchronises per handle).
    bool mapped = false;
    // Kinds of the resources bound so far (ResourceKind bits), for dumps; see boundUsage.
    std::atomic<std::uint8_t> boundKind{0};
    // A debug name or private data is stored for this handle (so vkFreeMemory skips the side
    // tables, and their lock, for the usual object that has neither).
    std::atomic<bool> hasSideData{false};
    std::uint8_t memoryTypeIndex = 0;  // < VK_MAX_MEMORY_TYPES
    std::uint8_t heapIndex = 0;        // < VK_MAX_MEMORY_HEAPS
    std::atomic<std::uint32_t> nextFree{0};  // link in the manager's free-slot stack while not live
    VkDeviceMemory real = VK_NULL_HANDLE;  // the block, or the object's own driver memory
    VkDeviceSize offset = 0;               // slice offset in `real` (0 for own memory)
    VkDeviceSize size = 0;                 // allocationSize the app asked for
    PoolState* pool = nullptr;
    core::Block* poolBlock = nullptr;      // the core's allocation: block and handle
    core::AllocHandle poolHandle = core::kNullHandle;

    // Second cache line.
    VkDeviceSize reserved = 0;             // bytes reserved in the block (size rounded up)
    std::uint8_t* blockMapped = nullptr;   // the block's persistent mapping (pooled, host-visible)
    VkDeviceSize mapOffset = 0;
    VkDeviceSize mapSize = 0;  // resolved: never VK_WHOLE_SIZE
    std::atomic<std::uint64_t> boundUsage{0};  // usage flags of every resource bound, OR-ed (for dumps)

    core::PoolAllocation poolAllocation() const { return {poolBlock, poolHandle, offset, reserved}; }
};
static_assert(sizeof(MemoryObject) == 128, "MemoryObject: two cache lines");

// What a resource is, for the state map's suballocation "Type" (MemoryObject::boundKind bits).
enum ResourceKind : std::uint8_t {
    kResourceBuffer = 1,
    kResourceImageOptimal = 2,
    kResourceImageLinear = 4,
    kResourceImageUnknown = 8,  // another tiling (e.g. DRM format modifier)
    kResourceUnknown = 16,      // bound without the layer having seen it created
};

// What the layer knows about one buffer or image: from its creation (kind, usage) and from the
// app's memory-requirement query (for bind checks). One record, so a bind does one lookup.
struct ResourceRecord {
    std::uint8_t kind = kResourceUnknown;
    std::uint64_t usage = 0;
    bool hasRequirements = false;
    VkMemoryRequirements requirements{};
};

// Flags decided once from the VkMemoryAllocateInfo pNext chain (Mesa's "parse once" pattern).
struct AllocateInfoSummary {
    bool poolable = true;              // every struct in the chain is on the allow-list
    const char* reason = nullptr;      // why not, for the log
    bool deviceAddress = false;        // VkMemoryAllocateFlagsInfo DEVICE_ADDRESS_BIT
    float priority = 0.5f;             // VkMemoryPriorityAllocateInfoEXT
};
AllocateInfoSummary SummarizeAllocateInfo(const VkMemoryAllocateInfo& info);

class MemoryManager {
public:
    explicit MemoryManager(DeviceData& device);
    ~MemoryManager();
    MemoryManager(const MemoryManager&) = delete;
    MemoryManager& operator=(const MemoryManager&) = delete;

    VkResult Allocate(const VkMemoryAllocateInfo* info, const VkAllocationCallbacks* pAllocator,
                      VkDeviceMemory* pMemory);
    void Free(VkDeviceMemory memory, const VkAllocationCallbacks* pAllocator);
    VkResult Map(VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize size, VkMemoryMapFlags flags,
                 const void* pNext, bool viaMap2, void** ppData);
    VkResult Unmap(VkDeviceMemory memory, VkMemoryUnmapFlagsKHR flags, const void* pNext, bool viaUnmap2);
    VkResult FlushOrInvalidate(bool flush, std::uint32_t count, const VkMappedMemoryRange* ranges);

    // Returns the live record behind a virtual handle, or null (and a report naming `caller`)
    // when the handle is null, stale, forged or from another device.
    MemoryObject* Lookup(VkDeviceMemory memory, const char* caller) {
        MemoryObject* object = LookupQuiet(memory);
        if (__builtin_expect(object == nullptr, 0)) ReportInvalidHandle(memory, caller);
        return object;
    }
    MemoryObject* LookupQuiet(VkDeviceMemory memory) {
        const auto h = reinterpret_cast<std::uint64_t>(memory);
        if ((h >> 56) != tag_) return nullptr;
        // slot + 1 in the low 32 bits; 0 wraps to a slot beyond every chunk.
        const std::uint32_t slot = static_cast<std::uint32_t>(h) - 1u;
        if ((slot >> kChunkBits) >= kMaxChunks) return nullptr;
        MemoryObject* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_acquire);
        if (!chunk) return nullptr;
        MemoryObject& object = chunk[slot & (kChunkSize - 1)];
        if (!object.live.load(std::memory_order_acquire)) return nullptr;
        if (((object.generation.load(std::memory_order_acquire) ^ static_cast<std::uint32_t>(h >> 32)) & 0xFFFFFF) != 0) {
            return nullptr;
        }
        return &object;
    }

    // Memory requirements the app asked for: raise the slice alignment floor of each type and
    // remember each resource's requirements for bind checks.
    void ObserveRequirements(std::uint64_t resource, bool image, const VkMemoryRequirements& req);
    // A created buffer or image: its kind and usage, for the state map.
    void ObserveResource(std::uint64_t resource, bool image, std::uint8_t kind, std::uint64_t usage);
    void ForgetResource(std::uint64_t resource, bool image);
    bool FindResource(std::uint64_t resource, bool image, ResourceRecord* record);

    // Checks a bind of `resource` at `offset` in `object` against the slice; reports app errors
    // and returns false when the bind must not reach the driver.
    bool CheckBind(const char* caller, MemoryObject& object, std::uint64_t resource, bool image,
                   VkDeviceSize offset);

    // Frees every object and block (device destruction). Reports what the app leaked.
    void Shutdown();

    // Cached per type; raised by ObserveRequirements.
    VkDeviceSize SliceAlignment(std::uint32_t memoryType) const {
        return sliceAlignment_[memoryType].load(std::memory_order_relaxed);
    }
    // Usage and budget of a heap as VMA computes them (VK_EXT_memory_budget when the device has it).
    bool GetHeapBudget(std::uint32_t heap, VkDeviceSize* usage, VkDeviceSize* budget);
    std::uint64_t LiveObjectCount() const;
    // The virtual handle of a live record (a scan of the slot table: for reports, not hot paths).
    std::uint64_t HandleOf(const MemoryObject& object) const;
    // Returns empty blocks whose grace period (empty_block_grace_ms) has run out to the driver.
    // Called on queue submissions; looks at the clock at most every few milliseconds.
    void TrimExpiredEmptyBlocks();
    void ForEachPool(const std::function<void(std::uint32_t memoryType, const core::Pool&)>& visit) const;
    // Every pool with its key, for the state map. The pool list is copied under its lock; `visit`
    // runs without it (it may take the pool's own lock).
    struct PoolKey {
        std::uint32_t memoryType;
        bool deviceAddress;
        std::uint32_t priorityBucket;  // 0..4 for priority 0, 0.25, 0.5 (the default), 0.75, 1
    };
    static constexpr std::uint32_t kDefaultPriorityBucket = 2;
    void ForEachPoolKeyed(const std::function<void(const PoolKey&, const core::Pool&)>& visit) const;
    // Every live own (not pooled) allocation with its virtual handle, for the state map. Own
    // allocations are registered under a lock (each is a driver allocation anyway), so the walk
    // reads records that cannot change under it; pooled ones are walked through their pools.
    struct OwnObject {
        VkDeviceMemory handle;
        std::uint32_t memoryType;
        VkDeviceSize size;
        std::uint8_t boundKind;
        std::uint64_t boundUsage;
    };
    void ForEachOwnObject(const std::function<void(const OwnObject&)>& visit) const;

    // Private data and names for pooled handles live here (the driver never sees the handle).
    std::mutex namesMutex;
    std::unordered_map<std::uint64_t, std::string> names;  // by virtual handle
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> privateData;  // {handle, slot}

    DeviceData& device() { return device_; }

private:
    static constexpr std::uint32_t kChunkBits = 12;
    static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;  // objects per chunk
    static constexpr std::uint32_t kMaxChunks = 1u << 12;          // 16 M live objects per device
    static constexpr std::uint32_t kPriorityBuckets = 5;

    // Seeds each type's alignment floor from probe resources made at device creation, so that
    // slices allocated before the app's first requirement query still fit what it binds.
    void ProbeAlignments();
    std::uint64_t MakeHandle(std::uint32_t slot, std::uint32_t generation) const;
    void ReportInvalidHandle(VkDeviceMemory memory, const char* caller);
    VkDeviceSize BaseSliceAlignment(std::uint32_t memoryType) const;
    MemoryObject* AcquireSlot(std::uint32_t* slot);
    MemoryObject* GrowSlot(std::uint32_t* slot);
    void ReleaseSlot(std::uint32_t slot);
    PoolState* GetPool(std::uint32_t memoryType, bool deviceAddress, float priority);
    PoolState* CreatePool(std::size_t index, std::uint32_t memoryType, bool deviceAddress, std::uint32_t bucket);
    VkResult AllocateOwn(const VkMemoryAllocateInfo* info, const VkAllocationCallbacks* pAllocator,
                         MemoryObject& object);
    bool ShouldPool(const VkMemoryAllocateInfo& info, const AllocateInfoSummary& summary) const;
    void Release(MemoryObject& object, const VkAllocationCallbacks* pAllocator);

    DeviceData& device_;
    std::uint64_t tag_;  // per-device bits in every handle
    std::array<std::atomic<MemoryObject*>, kMaxChunks> chunks_{};
    static constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;
    // Free slots: a lock-free LIFO stack (the slot freed last is reused first, while its record is
    // still in cache). Head = {ABA tag (high 32 bits), slot (low 32 bits, kNoSlot when empty)};
    // links live in MemoryObject::nextFree.
    alignas(64) std::atomic<std::uint64_t> freeHead_{kNoSlot};
    std::atomic<std::uint32_t> nextSlot_{0};  // slots ever handed out
    std::mutex chunkMutex_;                   // only to create a chunk
    std::uint32_t poolableTypes_ = 0;         // types that settings and flags allow to pool

    std::vector<PoolState*> PoolsSnapshot() const;

    mutable std::mutex poolsMutex_;
    mutable std::mutex ownMutex_;
    std::unordered_map<const MemoryObject*, std::uint64_t> ownObjects_;  // own allocations → handle
    PeriodGate trimGate_{10'000'000};  // TrimExpiredEmptyBlocks does its work at most every 10 ms
    std::array<std::atomic<PoolState*>, VK_MAX_MEMORY_TYPES * 2 * kPriorityBuckets> pools_{};
    std::vector<std::unique_ptr<PoolState>> poolStorage_;

    std::array<std::atomic<VkDeviceSize>, VK_MAX_MEMORY_TYPES> observedAlignment_{};
    std::array<std::atomic<VkDeviceSize>, VK_MAX_MEMORY_TYPES> sliceAlignment_{};  // base max observed
    std::mutex budgetMutex_;
    std::atomic<std::uint64_t> budgetOperations_{0};
    std::array<std::atomic<VkDeviceSize>, VK_MAX_MEMORY_HEAPS> fetchedUsage_{}, fetchedBudget_{}, fetchedOurs_{};
    std::mutex requirementsMutex_;
    std::atomic<std::uint64_t> forgetEpoch_{0};  // bumped whenever a resource is destroyed
    std::unordered_map<std::uint64_t, ResourceRecord> requirements_[2];  // [0] buffers, [1] images
};

}  // namespace vma::layer
