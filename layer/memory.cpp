// Allocate, free, map, unmap, flush and invalidate for virtual VkDeviceMemory handles, and the
// driver-facing BlockSource the core's pools get their blocks from.
#include "memory.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>

#include "corruption.h"
#include "dump.h"
#include "intercepts.h"
#include "layer.h"

namespace vma::layer {
namespace {

constexpr VkDeviceSize kDefaultMinMapAlignment = 64;
std::atomic<std::uint64_t> gNextDeviceTag{1};

std::uint32_t PriorityBucket(float priority) {
    // 0.0, 0.25, 0.5, 0.75, 1.0 (VK_EXT_memory_priority: default 0.5).
    if (!(priority >= 0.f)) priority = 0.5f;
    if (priority > 1.f) priority = 1.f;
    return static_cast<std::uint32_t>(priority * 4.f + 0.5f);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pool state: one core::Pool and the BlockSource that feeds it real driver memory.

class PoolState final : public core::BlockSource {
public:
    PoolState(DeviceData& device, std::uint32_t memoryType, bool deviceAddress, float priority,
              const core::PoolConfig& config)
        : device_(device),
          memoryType_(memoryType),
          heap_(device.memoryProperties.memoryTypes[memoryType].heapIndex),
          deviceAddress_(deviceAddress),
          priority_(priority),
          hostVisible_(device.memoryProperties.memoryTypes[memoryType].propertyFlags &
                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT),
          pool(config, *this),
          ownMemoryAbove(pool.PreferredBlockSize() / 2) {}

    bool AllocateBlock(core::Size size, std::uint64_t* cookie) override {
        // maxMemoryAllocationCount counts real objects only (VUID-vkAllocateMemory-maxMemoryAllocationCount-04101).
        if (!device_.counters.ReserveDriverObject(device_.limits.maxMemoryAllocationCount)) return false;
        VkMemoryAllocateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
        info.allocationSize = size;
        info.memoryTypeIndex = memoryType_;
        VkMemoryAllocateFlagsInfo flags{};
        flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
        VkMemoryPriorityAllocateInfoEXT priority{};
        priority.sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT;
        const void** tail = &info.pNext;
        if (deviceAddress_) {
            flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
            *tail = &flags;
            tail = const_cast<const void**>(&flags.pNext);
        }
        if (device_.memoryPriority) {
            priority.priority = priority_;
            *tail = &priority;
        }
        VkDeviceMemory memory = VK_NULL_HANDLE;
        if (device_.dispatch.AllocateMemory(device_.device, &info, nullptr, &memory) != VK_SUCCESS) {
            device_.counters.CancelDriverObject();
            return false;
        }
        void* mapped = nullptr;
        if (hostVisible_ &&
            device_.dispatch.MapMemory(device_.device, memory, 0, VK_WHOLE_SIZE, 0, &mapped) != VK_SUCCESS) {
            device_.dispatch.FreeMemory(device_.device, memory, nullptr);
            device_.counters.CancelDriverObject();
            return false;
        }
        auto* block = new (std::nothrow) DriverBlock{memory, static_cast<std::uint8_t*>(mapped), size};
        if (!block) {
            if (mapped) device_.dispatch.UnmapMemory(device_.device, memory);
            device_.dispatch.FreeMemory(device_.device, memory, nullptr);
            device_.counters.CancelDriverObject();
            return false;
        }
        device_.counters.OnDriverAllocate(heap_, size);
        if (device_.guard) device_.guard->OnBlockCreated(memoryType_, *block);
        *cookie = reinterpret_cast<std::uint64_t>(block);
        return true;
    }

    void FreeBlock(std::uint64_t cookie, core::Size size) override {
        auto* block = reinterpret_cast<DriverBlock*>(cookie);
        if (device_.guard) device_.guard->OnBlockDestroyed(*block);
        if (block->mapped) device_.dispatch.UnmapMemory(device_.device, block->memory);
        device_.dispatch.FreeMemory(device_.device, block->memory, nullptr);
        device_.counters.OnDriverFree(heap_, size);
        delete block;
    }

    bool GetBudget(core::Size* usage, core::Size* budget) override {
        return device_.memory->GetHeapBudget(heap_, usage, budget);
    }

    std::uint32_t memoryType() const { return memoryType_; }
    std::uint32_t heap() const { return heap_; }
    bool deviceAddress() const { return deviceAddress_; }
    std::uint32_t priorityBucket() const { return PriorityBucket(priority_); }

private:
    DeviceData& device_;
    std::uint32_t memoryType_;
    std::uint32_t heap_;
    bool deviceAddress_;
    float priority_;
    bool hostVisible_;

public:
    core::Pool pool;  // declared last: destroyed first, while the source above is still alive
    const core::Size ownMemoryAbove;  // Pool::PrefersOwnMemory(size) is size > this
};

// ---------------------------------------------------------------------------------------------

bool MemoryManager::GetHeapBudget(std::uint32_t heap, VkDeviceSize* usage, VkDeviceSize* budget) {
    const VkDeviceSize heapSize = device_.memoryProperties.memoryHeaps[heap].size;
    const VkDeviceSize ours = device_.counters.driverBytes[heap].load(std::memory_order_relaxed);
    if (!device_.memoryBudget) {
        // VMA's heuristic without VK_EXT_memory_budget: usage = our blocks, budget = 80 % of the heap.
        *usage = ours;
        *budget = heapSize / 10 * 8;
        return true;
    }
    // VMA's scheme: fetch the driver's figures every 30 operations, and in between move the usage
    // by what our own driver objects changed since the fetch.
    if (budgetOperations_.fetch_add(1, std::memory_order_relaxed) % 30 == 0) {
        std::lock_guard<std::mutex> lock(budgetMutex_);
        VkPhysicalDeviceMemoryBudgetPropertiesEXT b{};
        b.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
        VkPhysicalDeviceMemoryProperties2 p{};
        p.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
        p.pNext = &b;
        device_.instance->dispatch.GetPhysicalDeviceMemoryProperties2(device_.physicalDevice, &p);
        for (std::uint32_t h = 0; h < device_.memoryProperties.memoryHeapCount; ++h) {
            // Driver sanitising as VMA does: a budget of 0 means 80 % of the heap; never above the heap.
            const VkDeviceSize size = device_.memoryProperties.memoryHeaps[h].size;
            fetchedUsage_[h].store(b.heapUsage[h], std::memory_order_relaxed);
            fetchedBudget_[h].store(b.heapBudget[h] == 0 ? size / 10 * 8 : std::min(b.heapBudget[h], size),
                                    std::memory_order_relaxed);
            fetchedOurs_[h].store(device_.counters.driverBytes[h].load(std::memory_order_relaxed),
                                  std::memory_order_relaxed);
        }
    }
    const std::int64_t delta = static_cast<std::int64_t>(ours) -
                               static_cast<std::int64_t>(fetchedOurs_[heap].load(std::memory_order_relaxed));
    const std::int64_t u = static_cast<std::int64_t>(fetchedUsage_[heap].load(std::memory_order_relaxed)) + delta;
    *usage = u > 0 ? static_cast<VkDeviceSize>(u) : ours;
    *budget = fetchedBudget_[heap].load(std::memory_order_relaxed);
    if (*budget == 0) *budget = heapSize / 10 * 8;  // not fetched yet by any thread
    return true;
}

AllocateInfoSummary SummarizeAllocateInfo(const VkMemoryAllocateInfo& info) {
    AllocateInfoSummary s;
    for (auto* p = static_cast<const VkBaseInStructure*>(info.pNext); p; p = p->pNext) {
        switch (p->sType) {
            case VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO: {
                const auto* f = reinterpret_cast<const VkMemoryAllocateFlagsInfo*>(p);
                if (f->flags & VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT) s.deviceAddress = true;
                if (f->flags & VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_CAPTURE_REPLAY_BIT) {
                    s.poolable = false;
                    s.reason = "capture-replay address";
                }
                if (f->flags & VK_MEMORY_ALLOCATE_DEVICE_MASK_BIT) {
                    s.poolable = false;
                    s.reason = "device mask";
                }
                if (f->flags & kMemoryAllocateZeroInitializeBitExt) {
                    s.poolable = false;
                    s.reason = "zero-initialized memory";
                }
                break;
            }
            case VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT:
                s.priority = reinterpret_cast<const VkMemoryPriorityAllocateInfoEXT*>(p)->priority;
                break;
            case VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO: {
                const auto* d = reinterpret_cast<const VkMemoryDedicatedAllocateInfo*>(p);
                if (d->buffer != VK_NULL_HANDLE || d->image != VK_NULL_HANDLE) {
                    s.poolable = false;
                    s.reason = "dedicated allocation";
                }
                break;
            }
            case VK_STRUCTURE_TYPE_MEMORY_OPAQUE_CAPTURE_ADDRESS_ALLOCATE_INFO:
                if (reinterpret_cast<const VkMemoryOpaqueCaptureAddressAllocateInfo*>(p)->opaqueCaptureAddress != 0) {
                    s.poolable = false;
                    s.reason = "opaque capture address";
                }
                break;
            default:
                // Import, export and anything unknown: the allocation keeps its own identity.
                s.poolable = false;
                s.reason = "pNext structure that needs its own VkDeviceMemory";
                break;
        }
    }
    return s;
}

MemoryManager::MemoryManager(DeviceData& device)
    : device_(device), tag_(gNextDeviceTag.fetch_add(1) & 0xFF) {
    if (tag_ == 0) tag_ = 0x5A;
    const Settings& settings = device_.instance->settings;
    for (std::uint32_t t = 0; t < device_.memoryProperties.memoryTypeCount && t < VK_MAX_MEMORY_TYPES; ++t) {
        sliceAlignment_[t].store(BaseSliceAlignment(t), std::memory_order_relaxed);
        const auto flags = device_.memoryProperties.memoryTypes[t].propertyFlags;
        // Lazily allocated memory has per-object commitment; protected memory stays apart (§3).
        const bool poolable = !settings.passThroughAll && !(settings.passThroughTypes & (1u << t)) &&
                              !(flags & (VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT | VK_MEMORY_PROPERTY_PROTECTED_BIT));
        if (poolable) poolableTypes_ |= 1u << t;
    }
    ProbeAlignments();
}

void MemoryManager::ProbeAlignments() {
    // Apps may allocate before they query requirements (legal: offset 0 of a VkDeviceMemory meets
    // any alignment). Probe the resources that need the most alignment on real drivers: optimal
    // colour, depth and multisampled attachments, a linear image, and a buffer with every usage.
    const VkDevice device = device_.device;
    const auto& inst = device_.instance->dispatch;
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.size = 65536;
    bi.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
               VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
               VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
               VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT;
    VkBuffer buffer = VK_NULL_HANDLE;
    if (device_.dispatch.CreateBuffer(device, &bi, nullptr, &buffer) == VK_SUCCESS) {
        VkMemoryRequirements req{};
        device_.dispatch.GetBufferMemoryRequirements(device, buffer, &req);
        ObserveRequirements(0, false, req);
        device_.dispatch.DestroyBuffer(device, buffer, nullptr);
    }
    struct ImageProbe {
        VkFormat format;
        VkImageTiling tiling;
        VkImageUsageFlags usage;
        VkSampleCountFlagBits samples;
    };
    const ImageProbe probes[] = {
        {VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TILING_OPTIMAL,
         VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
         VK_SAMPLE_COUNT_1_BIT},
        {VK_FORMAT_R32G32B32A32_SFLOAT, VK_IMAGE_TILING_OPTIMAL,
         VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_STORAGE_BIT, VK_SAMPLE_COUNT_1_BIT},
        {VK_FORMAT_D32_SFLOAT, VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
         VK_SAMPLE_COUNT_1_BIT},
        {VK_FORMAT_D24_UNORM_S8_UINT, VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
         VK_SAMPLE_COUNT_1_BIT},
        {VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT, VK_SAMPLE_COUNT_4_BIT},
        {VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TILING_LINEAR,
         VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, VK_SAMPLE_COUNT_1_BIT},
    };
    for (const ImageProbe& p : probes) {
        VkImageFormatProperties formatProps{};
        if (inst.GetPhysicalDeviceImageFormatProperties(device_.physicalDevice, p.format, VK_IMAGE_TYPE_2D, p.tiling,
                                                        p.usage, 0, &formatProps) != VK_SUCCESS ||
            !(formatProps.sampleCounts & p.samples)) {
            continue;
        }
        VkImageCreateInfo ii{};
        ii.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
        ii.imageType = VK_IMAGE_TYPE_2D;
        ii.format = p.format;
        ii.extent = {256, 256, 1};
        ii.mipLevels = 1;
        ii.arrayLayers = 1;
        ii.samples = p.samples;
        ii.tiling = p.tiling;
        ii.usage = p.usage;
        ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        VkImage image = VK_NULL_HANDLE;
        if (device_.dispatch.CreateImage(device, &ii, nullptr, &image) != VK_SUCCESS) continue;
        VkMemoryRequirements req{};
        device_.dispatch.GetImageMemoryRequirements(device, image, &req);
        ObserveRequirements(0, true, req);
        device_.dispatch.DestroyImage(device, image, nullptr);
    }
}

MemoryManager::~MemoryManager() {
    Shutdown();
    for (auto& chunk : chunks_) {
        MemoryObject* objects = chunk.load();
        if (!objects) continue;
        for (std::uint32_t i = 0; i < kChunkSize; ++i) objects[i].~MemoryObject();
        device_.allocator.Free(objects);
    }
}

std::uint64_t MemoryManager::MakeHandle(std::uint32_t slot, std::uint32_t generation) const {
    // [63:56] device tag, [55:32] generation (24 bits), [31:0] slot + 1 (never 0).
    return (tag_ << 56) | (std::uint64_t(generation & 0xFFFFFF) << 32) | (std::uint64_t(slot) + 1);
}

std::uint64_t MemoryManager::LiveObjectCount() const {
    const std::uint64_t frees = device_.counters.appFrees.load(std::memory_order_relaxed);
    const std::uint64_t allocations = device_.counters.appAllocations.load(std::memory_order_relaxed);
    return allocations > frees ? allocations - frees : 0;
}

void MemoryManager::ReportInvalidHandle(VkDeviceMemory memory, const char* caller) {
    {
        device_.reporter().Report(Severity::kError, "VMA-invalid-handle",
                                  std::string(caller) + ": VkDeviceMemory " + Hex(reinterpret_cast<std::uint64_t>(memory)) +
                                      (memory == VK_NULL_HANDLE ? " is VK_NULL_HANDLE"
                                                                : " is not a live allocation of this device "
                                                                  "(freed, forged or from another device)"),
                                  VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(memory));
    }
}

MemoryObject* MemoryManager::AcquireSlot(std::uint32_t* slot) {
    std::uint64_t head = freeHead_.load(std::memory_order_acquire);
    for (;;) {
        const auto s = static_cast<std::uint32_t>(head);
        if (s == kNoSlot) return GrowSlot(slot);
        // A slot in the stack is in a chunk that exists: chunks are never freed while the manager lives.
        MemoryObject& object = chunks_[s >> kChunkBits].load(std::memory_order_relaxed)[s & (kChunkSize - 1)];
        // May read a link that another thread changes meanwhile; the tag then fails the CAS.
        const std::uint32_t next = object.nextFree.load(std::memory_order_relaxed);
        const std::uint64_t replacement = (((head >> 32) + 1) << 32) | next;
        if (freeHead_.compare_exchange_weak(head, replacement, std::memory_order_acquire, std::memory_order_acquire)) {
            *slot = s;
            return &object;
        }
    }
}

MemoryObject* MemoryManager::GrowSlot(std::uint32_t* slot) {
    std::uint32_t s = nextSlot_.load(std::memory_order_relaxed);
    do {
        if ((s >> kChunkBits) >= kMaxChunks) return nullptr;
    } while (!nextSlot_.compare_exchange_weak(s, s + 1, std::memory_order_relaxed));
    auto& chunk = chunks_[s >> kChunkBits];
    MemoryObject* objects = chunk.load(std::memory_order_acquire);
    if (!objects) {
        std::lock_guard<std::mutex> lock(chunkMutex_);
        objects = chunk.load(std::memory_order_relaxed);
        if (!objects) {
            void* mem = device_.allocator.Allocate(sizeof(MemoryObject) * kChunkSize, alignof(MemoryObject),
                                                   VK_SYSTEM_ALLOCATION_SCOPE_DEVICE);
            if (!mem) return nullptr;  // the slot number is lost; only ever on out of host memory
            objects = static_cast<MemoryObject*>(mem);
            for (std::uint32_t i = 0; i < kChunkSize; ++i) new (&objects[i]) MemoryObject();
            chunk.store(objects, std::memory_order_release);
        }
    }
    *slot = s;
    return &objects[s & (kChunkSize - 1)];
}

void MemoryManager::ReleaseSlot(std::uint32_t slot) {
    MemoryObject& object = chunks_[slot >> kChunkBits].load(std::memory_order_relaxed)[slot & (kChunkSize - 1)];
    std::uint64_t head = freeHead_.load(std::memory_order_relaxed);
    for (;;) {
        object.nextFree.store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
        const std::uint64_t replacement = (((head >> 32) + 1) << 32) | slot;
        if (freeHead_.compare_exchange_weak(head, replacement, std::memory_order_release, std::memory_order_relaxed)) {
            return;
        }
    }
}

VkDeviceSize MemoryManager::BaseSliceAlignment(std::uint32_t type) const {
    // reference/layer-interface.md §4.6: every slice must satisfy whatever any resource of this
    // type needs, since the app binds at offset 0 without knowing it got a slice.
    const auto flags = device_.memoryProperties.memoryTypes[type].propertyFlags;
    const VkPhysicalDeviceLimits& limits = device_.limits;
    VkDeviceSize a = std::max<VkDeviceSize>(limits.bufferImageGranularity, 16);
    if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        a = std::max<VkDeviceSize>(a, std::max<VkDeviceSize>(limits.minMemoryMapAlignment, kDefaultMinMapAlignment));
        if (!(flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) a = std::max(a, limits.nonCoherentAtomSize);
    }
    a = std::max<VkDeviceSize>(a, device_.instance->settings.minAlignment);
    // Power of two (all inputs are powers of two by the spec; the max of powers of two is one).
    return a;
}

inline bool MemoryManager::ShouldPool(const VkMemoryAllocateInfo& info, const AllocateInfoSummary& summary) const {
    // poolableTypes_: settings (pass_through_all, pass_through_types) and LAZILY_ALLOCATED / PROTECTED.
    if (!summary.poolable || !(poolableTypes_ & (1u << info.memoryTypeIndex))) return false;
    if (summary.deviceAddress && !device_.bufferDeviceAddress) return false;
    return true;
}

inline PoolState* MemoryManager::GetPool(std::uint32_t memoryType, bool deviceAddress, float priority) {
    const std::uint32_t bucket = device_.memoryPriority ? PriorityBucket(priority) : 2;
    const std::size_t index = (memoryType * 2 + (deviceAddress ? 1 : 0)) * kPriorityBuckets + bucket;
    PoolState* pool = pools_[index].load(std::memory_order_acquire);
    if (__builtin_expect(pool != nullptr, 1)) return pool;
    return CreatePool(index, memoryType, deviceAddress, bucket);
}

__attribute__((noinline)) PoolState* MemoryManager::CreatePool(std::size_t index, std::uint32_t memoryType,
                                                               bool deviceAddress, std::uint32_t bucket) {
    std::lock_guard<std::mutex> lock(poolsMutex_);
    PoolState* pool;
    pool = pools_[index].load(std::memory_order_relaxed);
    if (pool) return pool;
    const Settings& settings = device_.instance->settings;
    core::PoolConfig config;
    config.algorithm = settings.algorithmPerType[memoryType].value_or(settings.algorithm);
    const std::uint32_t heap = device_.memoryProperties.memoryTypes[memoryType].heapIndex;
    config.heapSize = device_.memoryProperties.memoryHeaps[heap].size;
    config.preferredBlockSize = settings.blockSize;
    config.keepEmptyBlocks = settings.keepEmptyBlocks;
    config.emptyBlockGraceNs = std::uint64_t{settings.emptyBlockGraceMs} * 1000000u;
    if (device_.guard) config.marginBefore = config.marginAfter = device_.guard->margin();
    // Slices are aligned and sized to the granularity by the layer, so no two slices ever share a
    // bufferImageGranularity page: the core needs no granularity handling of its own.
    config.bufferImageGranularity = 1;
    auto state = std::make_unique<PoolState>(device_, memoryType, deviceAddress, bucket / 4.f, config);
    pool = state.get();
    poolStorage_.push_back(std::move(state));
    pools_[index].store(pool, std::memory_order_release);
    return pool;
}

VkResult MemoryManager::AllocateOwn(const VkMemoryAllocateInfo* info, const VkAllocationCallbacks* pAllocator,
                                    MemoryObject& object) {
    if (!device_.counters.ReserveDriverObject(device_.limits.maxMemoryAllocationCount)) {
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    VkDeviceMemory real = VK_NULL_HANDLE;
    VkResult r = device_.dispatch.AllocateMemory(device_.device, info, pAllocator, &real);
    if (r != VK_SUCCESS) {
        device_.counters.CancelDriverObject();
        // The driver's own limit check (some return VK_ERROR_TOO_MANY_OBJECTS) is not an error
        // code vkAllocateMemory may return any more: report it as out of device memory.
        return r == VK_ERROR_TOO_MANY_OBJECTS ? VK_ERROR_OUT_OF_DEVICE_MEMORY : r;
    }
    object.pooled = false;
    object.real = real;
    object.offset = 0;
    object.reserved = info->allocationSize;
    object.blockMapped = nullptr;
    object.pool = nullptr;
    device_.counters.OnDriverAllocate(object.heapIndex, info->allocationSize);
    return VK_SUCCESS;
}

VkResult MemoryManager::Allocate(const VkMemoryAllocateInfo* info, const VkAllocationCallbacks* pAllocator,
                                 VkDeviceMemory* pMemory) {
    const auto& props = device_.memoryProperties;
    const std::uint32_t type = info->memoryTypeIndex;
    if (type >= props.memoryTypeCount) {
        // VUID-vkAllocateMemory-pAllocateInfo-01714
        device_.reporter().Report(Severity::kError, "VMA-allocate-invalid-type",
                                  "vkAllocateMemory: memoryTypeIndex " + std::to_string(type) +
                                      " is not a valid memory type (VUID-vkAllocateMemory-pAllocateInfo-01714)");
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    const VkDeviceSize size = info->allocationSize;
    const std::uint32_t heap = props.memoryTypes[type].heapIndex;
    AllocateInfoSummary summary;
    if (info->pNext) summary = SummarizeAllocateInfo(*info);
    std::uint32_t slot = 0;
    MemoryObject* object = AcquireSlot(&slot);
    if (!object) return VK_ERROR_OUT_OF_HOST_MEMORY;
    object->memoryTypeIndex = static_cast<std::uint8_t>(type);
    object->heapIndex = static_cast<std::uint8_t>(heap);
    object->size = size;
    object->mapped = false;  // mapOffset and mapSize are read only while mapped
    object->boundKind.store(0, std::memory_order_relaxed);
    object->boundUsage.store(0, std::memory_order_relaxed);

    VkResult result = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    bool done = false;
    if (size > 0 && ShouldPool(*info, summary)) {
        PoolState* pool = GetPool(type, summary.deviceAddress, summary.priority);
        const VkDeviceSize align = SliceAlignment(type);
        const VkDeviceSize reserved = core::AlignUp(size, align);
        const VkDeviceSize dedicatedThreshold = device_.instance->settings.dedicatedThreshold;
        const bool large = dedicatedThreshold ? size > dedicatedThreshold : reserved > pool->ownMemoryAbove;
        if (!large) {
            core::PoolAllocation pa;
            if (pool->pool.Allocate(reserved, align, core::SuballocKind::kUnknown, object, &pa) ==
                core::PoolResult::kSuccess) {
                const auto* block = reinterpret_cast<const DriverBlock*>(pa.block->cookie);
                object->pooled = true;
                object->real = block->memory;
                object->offset = pa.offset;
                object->pool = pool;
                object->poolBlock = pa.block;
                object->poolHandle = pa.handle;
                object->reserved = reserved;
                object->blockMapped = block->mapped;
                if (device_.guard) device_.guard->OnAllocate(*object);
                done = true;
                result = VK_SUCCESS;
            }
            // else: no block could be had; fall back to the object's own memory below.
        }
    }
    if (!done) result = AllocateOwn(info, pAllocator, *object);
    if (result != VK_SUCCESS) {
        ReleaseSlot(slot);
        return result;
    }
    device_.counters.OnAppAllocate(heap, size);
    const std::uint32_t generation = object->generation.load(std::memory_order_relaxed);
    object->live.store(true, std::memory_order_release);
    *pMemory = reinterpret_cast<VkDeviceMemory>(MakeHandle(slot, generation));
    if (!object->pooled) {
        std::lock_guard<std::mutex> lock(ownMutex_);
        ownObjects_[object] = reinterpret_cast<std::uint64_t>(*pMemory);
    }
    return VK_SUCCESS;
}

void MemoryManager::Release(MemoryObject& object, const VkAllocationCallbacks* pAllocator) {
    if (object.pooled) {
        object.pool->pool.Free(object.poolAllocation());
    } else {
        {
            std::lock_guard<std::mutex> lock(ownMutex_);
            ownObjects_.erase(&object);
        }
        if (object.mapped) device_.dispatch.UnmapMemory(device_.device, object.real);
        device_.dispatch.FreeMemory(device_.device, object.real, pAllocator);
        device_.counters.OnDriverFree(object.heapIndex, object.size);
    }
    object.mapped = false;
    device_.counters.OnAppFree(object.heapIndex, object.size);
}

void MemoryManager::Free(VkDeviceMemory memory, const VkAllocationCallbacks* pAllocator) {
    if (memory == VK_NULL_HANDLE) return;  // legal no-op
    MemoryObject* object = Lookup(memory, "vkFreeMemory");
    if (!object) return;
    if (object->pooled && device_.guard) device_.guard->OnFree(*object, memory);
    // Invalidate the handle before the slice can be reused: freeing implicitly unmaps. Only the
    // freeing thread writes the generation (frees of one handle are externally synchronised).
    object->live.store(false, std::memory_order_release);
    object->generation.store(object->generation.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    Release(*object, pAllocator);
    if (object->hasSideData.load(std::memory_order_relaxed) &&
        object->hasSideData.exchange(false, std::memory_order_relaxed)) {
        std::lock_guard<std::mutex> lock(namesMutex);
        const auto h = reinterpret_cast<std::uint64_t>(memory);
        names.erase(h);
        privateData.erase(privateData.lower_bound({h, 0}), privateData.upper_bound({h, UINT64_MAX}));
    }
    ReleaseSlot(static_cast<std::uint32_t>(reinterpret_cast<std::uint64_t>(memory)) - 1u);
}

VkResult MemoryManager::Map(VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize size, VkMemoryMapFlags flags,
                            const void* pNext, bool viaMap2, void** ppData) {
    const char* caller = viaMap2 ? "vkMapMemory2KHR" : "vkMapMemory";
    MemoryObject* object = Lookup(memory, caller);
    if (!object) return VK_ERROR_MEMORY_MAP_FAILED;
    const auto typeFlags = device_.memoryProperties.memoryTypes[object->memoryTypeIndex].propertyFlags;
    std::string problem;
    if (!(typeFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        problem = "memory type " + std::to_string(object->memoryTypeIndex) +
                  " is not HOST_VISIBLE (VUID-vkMapMemory-memory-00682)";
    } else if (object->mapped) {
        problem = "memory is already mapped (VUID-vkMapMemory-memory-00678)";
    } else if (offset >= object->size) {
        problem = "offset " + std::to_string(offset) + " is not less than the allocation size " +
                  std::to_string(object->size) + " (VUID-vkMapMemory-offset-00679)";
    } else if (size != VK_WHOLE_SIZE && (size == 0 || size > object->size - offset)) {
        problem = "size " + std::to_string(size) + " at offset " + std::to_string(offset) +
                  " does not fit the allocation of " + std::to_string(object->size) +
                  " bytes (VUID-vkMapMemory-size-00680/00681)";
    } else if (object->pooled && (flags & kMemoryMapPlacedBitExt)) {
        problem = "placed mapping is not supported for suballocated memory";
    }
    if (!problem.empty()) {
        device_.reporter().Report(Severity::kError, "VMA-map-invalid", std::string(caller) + ": " + problem,
                                  VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(memory));
        return VK_ERROR_MEMORY_MAP_FAILED;
    }
    const VkDeviceSize resolved = size == VK_WHOLE_SIZE ? object->size - offset : size;
    if (object->pooled) {
        *ppData = object->blockMapped + object->offset + offset;
    } else {
        VkResult r;
        if (viaMap2) {
            VkMemoryMapInfoKHR info{VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR, pNext, flags, object->real, offset, size};
            auto fn = reinterpret_cast<PFN_vkMapMemory2KHR>(device_.dispatch.GetDeviceProcAddr(
                device_.device, device_.apiVersion >= VK_API_VERSION_1_4 ? "vkMapMemory2" : "vkMapMemory2KHR"));
            r = fn ? fn(device_.device, &info, ppData) : VK_ERROR_EXTENSION_NOT_PRESENT;
        } else {
            r = device_.dispatch.MapMemory(device_.device, object->real, offset, size, flags, ppData);
        }
        if (r != VK_SUCCESS) return r;
    }
    object->mapped = true;
    object->mapOffset = offset;
    object->mapSize = resolved;
    return VK_SUCCESS;
}

VkResult MemoryManager::Unmap(VkDeviceMemory memory, VkMemoryUnmapFlagsKHR flags, const void* pNext, bool viaUnmap2) {
    const char* caller = viaUnmap2 ? "vkUnmapMemory2KHR" : "vkUnmapMemory";
    MemoryObject* object = Lookup(memory, caller);
    if (!object) return VK_ERROR_MEMORY_MAP_FAILED;
    if (!object->mapped) {
        device_.reporter().Report(Severity::kError, "VMA-unmap-not-mapped",
                                  std::string(caller) + ": memory is not mapped (VUID-vkUnmapMemory-memory-00689)",
                                  VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(memory));
        return VK_ERROR_MEMORY_MAP_FAILED;
    }
    object->mapped = false;
    if (object->pooled) return VK_SUCCESS;  // the block stays mapped for its whole life
    if (viaUnmap2) {
        VkMemoryUnmapInfoKHR info{VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR, pNext, flags, object->real};
        auto fn = reinterpret_cast<PFN_vkUnmapMemory2KHR>(device_.dispatch.GetDeviceProcAddr(
            device_.device, device_.apiVersion >= VK_API_VERSION_1_4 ? "vkUnmapMemory2" : "vkUnmapMemory2KHR"));
        return fn ? fn(device_.device, &info) : VK_ERROR_EXTENSION_NOT_PRESENT;
    }
    device_.dispatch.UnmapMemory(device_.device, object->real);
    return VK_SUCCESS;
}

VkResult MemoryManager::FlushOrInvalidate(bool flush, std::uint32_t count, const VkMappedMemoryRange* ranges) {
    const char* caller = flush ? "vkFlushMappedMemoryRanges" : "vkInvalidateMappedMemoryRanges";
    constexpr std::uint32_t kInline = 16;
    VkMappedMemoryRange inlineRanges[kInline];
    std::vector<VkMappedMemoryRange> heapRanges;
    VkMappedMemoryRange* out = inlineRanges;
    if (count > kInline) {
        heapRanges.resize(count);
        out = heapRanges.data();
    }
    const VkDeviceSize atom = std::max<VkDeviceSize>(device_.limits.nonCoherentAtomSize, 1);
    for (std::uint32_t i = 0; i < count; ++i) {
        const VkMappedMemoryRange& in = ranges[i];
        MemoryObject* object = Lookup(in.memory, caller);
        if (!object) return VK_ERROR_OUT_OF_HOST_MEMORY;
        out[i] = in;
        out[i].memory = object->real;
        if (!object->pooled) continue;
        // VUID-VkMappedMemoryRange-memory-00684 and -size-00685/00686: the range lies in the current mapping.
        const VkDeviceSize mapEnd = object->mapOffset + object->mapSize;
        if (!object->mapped || in.offset < object->mapOffset || in.offset > mapEnd ||
            (in.size != VK_WHOLE_SIZE && in.size > mapEnd - in.offset)) {
            device_.reporter().Report(
                Severity::kError, "VMA-flush-range-invalid",
                std::string(caller) + ": range [" + std::to_string(in.offset) + ", +" +
                    (in.size == VK_WHOLE_SIZE ? std::string("VK_WHOLE_SIZE") : std::to_string(in.size)) +
                    ") is not inside the current mapping" +
                    (object->mapped ? " [" + std::to_string(object->mapOffset) + ", " + std::to_string(mapEnd) + ")"
                                    : std::string(" (memory is not mapped)")) +
                    " (VUID-VkMappedMemoryRange-size-00685)",
                VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(in.memory));
            return VK_ERROR_OUT_OF_HOST_MEMORY;
        }
        // WHOLE_SIZE means "to the end of the current mapping" of the app's allocation; never pass
        // it for a block. Round out to whole atoms: slices are atom-aligned at both ends, so the
        // rounded range stays inside this slice.
        const VkDeviceSize end = in.size == VK_WHOLE_SIZE ? mapEnd : in.offset + in.size;
        const VkDeviceSize begin = core::AlignDown(object->offset + in.offset, atom);
        const VkDeviceSize finish = std::min(core::AlignUp(object->offset + end, atom), object->offset + object->reserved);
        out[i].offset = begin;
        out[i].size = finish - begin;
    }
    return flush ? device_.dispatch.FlushMappedMemoryRanges(device_.device, count, out)
                 : device_.dispatch.InvalidateMappedMemoryRanges(device_.device, count, out);
}

namespace {
// Apps query a resource's requirements right before binding it, on the same thread: the last
// query of each thread answers the bind without the shared table's lock. The entry is valid only
// while no resource of the manager has been destroyed since (a destroyed handle can be reused).
struct LastQuery {
    const void* manager = nullptr;
    std::uint64_t resource = 0;
    bool image = false;
    std::uint64_t epoch = 0;
    ResourceRecord record;
};
thread_local LastQuery tLastQuery;
}  // namespace

void MemoryManager::ObserveRequirements(std::uint64_t resource, bool image, const VkMemoryRequirements& req) {
    for (std::uint32_t t = 0; t < device_.memoryProperties.memoryTypeCount; ++t) {
        if (!(req.memoryTypeBits & (1u << t))) continue;
        VkDeviceSize current = observedAlignment_[t].load(std::memory_order_relaxed);
        while (req.alignment > current &&
               !observedAlignment_[t].compare_exchange_weak(current, req.alignment, std::memory_order_relaxed)) {
        }
        // The cached slice alignment is max(base, every observed alignment): raise it the same way.
        current = sliceAlignment_[t].load(std::memory_order_relaxed);
        while (req.alignment > current &&
               !sliceAlignment_[t].compare_exchange_weak(current, req.alignment, std::memory_order_relaxed)) {
        }
    }
    if (resource) {
        std::lock_guard<std::mutex> lock(requirementsMutex_);
        ResourceRecord& record = requirements_[image][resource];
        record.hasRequirements = true;
        record.requirements = req;
        tLastQuery = {this, resource, image, forgetEpoch_.load(std::memory_order_relaxed), record};
    }
}

void MemoryManager::ObserveResource(std::uint64_t resource, bool image, std::uint8_t kind, std::uint64_t usage) {
    std::lock_guard<std::mutex> lock(requirementsMutex_);
    ResourceRecord& record = requirements_[image][resource];
    record.kind = kind;
    record.usage = usage;
}

void MemoryManager::ForgetResource(std::uint64_t resource, bool image) {
    std::lock_guard<std::mutex> lock(requirementsMutex_);
    forgetEpoch_.fetch_add(1, std::memory_order_relaxed);
    requirements_[image].erase(resource);
}

bool MemoryManager::FindResource(std::uint64_t resource, bool image, ResourceRecord* record) {
    const LastQuery& last = tLastQuery;
    if (last.manager == this && last.resource == resource && last.image == image &&
        last.epoch == forgetEpoch_.load(std::memory_order_relaxed)) {
        *record = last.record;
        return true;
    }
    std::lock_guard<std::mutex> lock(requirementsMutex_);
    auto it = requirements_[image].find(resource);
    if (it == requirements_[image].end()) return false;
    *record = it->second;
    return true;
}

bool MemoryManager::CheckBind(const char* caller, MemoryObject& object, std::uint64_t resource, bool image,
                              VkDeviceSize offset) {
    const char* what = image ? "image" : "buffer";
    std::string problem;
    ResourceRecord record;
    const bool seen = FindResource(resource, image, &record);
    const bool known = seen && record.hasRequirements;
    const VkMemoryRequirements& req = record.requirements;
    if (offset >= object.size) {
        problem = "memoryOffset " + std::to_string(offset) + " is not less than the allocation size " +
                  std::to_string(object.size) + (image ? " (VUID-vkBindImageMemory-memoryOffset-01046)"
                                                       : " (VUID-vkBindBufferMemory-memoryOffset-01031)");
    } else if (known && req.size > object.size - offset) {
        problem = std::string("the ") + what + " needs " + std::to_string(req.size) + " bytes but only " +
                  std::to_string(object.size - offset) + " remain after memoryOffset " + std::to_string(offset) +
                  (image ? " (VUID-vkBindImageMemory-size-01049)" : " (VUID-vkBindBufferMemory-size-01037)");
    } else if (known && req.alignment && offset % req.alignment) {
        problem = "memoryOffset " + std::to_string(offset) + " is not a multiple of the required alignment " +
                  std::to_string(req.alignment) +
                  (image ? " (VUID-vkBindImageMemory-memoryOffset-01048)" : " (VUID-vkBindBufferMemory-memoryOffset-01036)");
    } else if (known && !(req.memoryTypeBits & (1u << object.memoryTypeIndex))) {
        problem = "memory type " + std::to_string(object.memoryTypeIndex) + " is not in memoryTypeBits 0x" +
                  Hex(req.memoryTypeBits).substr(2) +
                  (image ? " (VUID-vkBindImageMemory-memory-01047)" : " (VUID-vkBindBufferMemory-memory-01035)");
    }
    if (!problem.empty()) {
        device_.reporter().Report(Severity::kError, "VMA-bind-invalid", std::string(caller) + ": " + problem,
                                  image ? VK_OBJECT_TYPE_IMAGE : VK_OBJECT_TYPE_BUFFER, resource);
        return false;
    }
    if (known && req.alignment && (object.offset + offset) % req.alignment) {
        // The app is right, the layer is not: the slice base was placed before an alignment this
        // large was observed for the type. The driver would reject or misplace the resource.
        device_.reporter().Report(Severity::kError, "VMA-slice-misaligned",
                                  std::string(caller) + ": slice at block offset " + std::to_string(object.offset) +
                                      " cannot honour alignment " + std::to_string(req.alignment) +
                                      "; raise the min_alignment setting to at least that value",
                                  image ? VK_OBJECT_TYPE_IMAGE : VK_OBJECT_TYPE_BUFFER, resource);
        return false;
    }
    // For the state map: what is bound here. Stores only when something new is added (the usual
    // memory object gets one bind).
    const std::uint8_t kind = seen ? record.kind : std::uint8_t{kResourceUnknown};
    if ((object.boundKind.load(std::memory_order_relaxed) & kind) != kind) {
        object.boundKind.fetch_or(kind, std::memory_order_relaxed);
    }
    if ((object.boundUsage.load(std::memory_order_relaxed) & record.usage) != record.usage) {
        object.boundUsage.fetch_or(record.usage, std::memory_order_relaxed);
    }
    return true;
}

void MemoryManager::Shutdown() {
    std::uint64_t leaked = 0;
    const std::uint32_t used = nextSlot_.load();
    for (std::uint32_t s = 0; s < used; ++s) {
        MemoryObject* chunk = chunks_[s >> kChunkBits].load();
        if (!chunk) continue;
        MemoryObject& object = chunk[s & (kChunkSize - 1)];
        if (!object.live.load()) continue;
        object.live.store(false);
        object.generation.fetch_add(1);
        Release(object, nullptr);
        ++leaked;
    }
    if (leaked) {
        device_.reporter().Report(Severity::kWarning, "VMA-leak",
                                  std::to_string(leaked) + " VkDeviceMemory object(s) were not freed before "
                                                           "vkDestroyDevice; the layer freed them");
    }
    for (auto& p : pools_) p.store(nullptr);
    poolStorage_.clear();  // each pool returns its blocks to the driver
}

// The pools created so far. poolStorage_ grows in CreatePool (under poolsMutex_); a pool, once
// created, lives until Shutdown, so the copy can be walked without the lock.
std::vector<PoolState*> MemoryManager::PoolsSnapshot() const {
    std::lock_guard<std::mutex> lock(poolsMutex_);
    std::vector<PoolState*> pools;
    pools.reserve(poolStorage_.size());
    for (const auto& p : poolStorage_) pools.push_back(p.get());
    return pools;
}

void MemoryManager::ForEachPool(const std::function<void(std::uint32_t, const core::Pool&)>& visit) const {
    for (const PoolState* p : PoolsSnapshot()) visit(p->memoryType(), p->pool);
}

void MemoryManager::ForEachPoolKeyed(const std::function<void(const PoolKey&, const core::Pool&)>& visit) const {
    for (const PoolState* p : PoolsSnapshot()) {
        visit({p->memoryType(), p->deviceAddress(), p->priorityBucket()}, p->pool);
    }
}

void MemoryManager::ForEachOwnObject(const std::function<void(const OwnObject&)>& visit) const {
    std::lock_guard<std::mutex> lock(ownMutex_);
    for (const auto& [object, handle] : ownObjects_) {
        visit({reinterpret_cast<VkDeviceMemory>(handle), object->memoryTypeIndex, object->size,
               object->boundKind.load(std::memory_order_relaxed), object->boundUsage.load(std::memory_order_relaxed)});
    }
}

void MemoryManager::TrimExpiredEmptyBlocks() {
    if (device_.instance->settings.emptyBlockGraceMs == 0) return;
    if (!trimGate_.Take()) return;
    for (PoolState* p : PoolsSnapshot()) p->pool.TrimExpiredEmptyBlocks();
}

std::uint64_t MemoryManager::HandleOf(const MemoryObject& object) const {
    const std::uint32_t chunks = std::min(kMaxChunks, (nextSlot_.load(std::memory_order_relaxed) >> kChunkBits) + 1);
    for (std::uint32_t c = 0; c < chunks; ++c) {
        const MemoryObject* chunk = chunks_[c].load(std::memory_order_acquire);
        if (!chunk) continue;
        if (&object >= chunk && &object < chunk + kChunkSize) {
            const auto slot = static_cast<std::uint32_t>((c << kChunkBits) + (&object - chunk));
            return MakeHandle(slot, object.generation.load(std::memory_order_acquire));
        }
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Intercepts.

VkResult AllocateMemory(VkDevice device, const VkMemoryAllocateInfo* pAllocateInfo,
                        const VkAllocationCallbacks* pAllocator, VkDeviceMemory* pMemory) {
    DeviceData* d = GetDeviceData(device);
    const VkResult result = d->memory->Allocate(pAllocateInfo, pAllocator, pMemory);
    if (__builtin_expect(result != VK_SUCCESS, 0)) DumpIfRequested(*d, DumpTrigger::kOom);  // dump_on oom
    return result;
}

void FreeMemory(VkDevice device, VkDeviceMemory memory, const VkAllocationCallbacks* pAllocator) {
    GetDeviceData(device)->memory->Free(memory, pAllocator);
}

VkResult MapMemory(VkDevice device, VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize size,
                   VkMemoryMapFlags flags, void** ppData) {
    return GetDeviceData(device)->memory->Map(memory, offset, size, flags, nullptr, false, ppData);
}

void UnmapMemory(VkDevice device, VkDeviceMemory memory) {
    GetDeviceData(device)->memory->Unmap(memory, 0, nullptr, false);
}

VkResult MapMemory2KHR(VkDevice device, const VkMemoryMapInfoKHR* info, void** ppData) {
    return GetDeviceData(device)->memory->Map(info->memory, info->offset, info->size, info->flags, info->pNext, true,
                                              ppData);
}

VkResult UnmapMemory2KHR(VkDevice device, const VkMemoryUnmapInfoKHR* info) {
    return GetDeviceData(device)->memory->Unmap(info->memory, info->flags, info->pNext, true);
}

VkResult MapMemory2(VkDevice device, const VkMemoryMapInfoKHR* info, void** ppData) {
    return MapMemory2KHR(device, info, ppData);
}

VkResult UnmapMemory2(VkDevice device, const VkMemoryUnmapInfoKHR* info) { return UnmapMemory2KHR(device, info); }

VkResult FlushMappedMemoryRanges(VkDevice device, uint32_t count, const VkMappedMemoryRange* ranges) {
    return GetDeviceData(device)->memory->FlushOrInvalidate(true, count, ranges);
}

VkResult InvalidateMappedMemoryRanges(VkDevice device, uint32_t count, const VkMappedMemoryRange* ranges) {
    return GetDeviceData(device)->memory->FlushOrInvalidate(false, count, ranges);
}

void GetDeviceMemoryCommitment(VkDevice device, VkDeviceMemory memory, VkDeviceSize* pCommitted) {
    DeviceData* d = GetDeviceData(device);
    MemoryObject* object = d->memory->Lookup(memory, "vkGetDeviceMemoryCommitment");
    if (!object) {
        *pCommitted = 0;
        return;
    }
    if (object->pooled) {
        // Only LAZILY_ALLOCATED types may be queried (VUID-vkGetDeviceMemoryCommitment-memory-00690),
        // and those are never pooled: the app is wrong. Answer with the full size.
        d->reporter().Report(Severity::kError, "VMA-commitment-invalid",
                             "vkGetDeviceMemoryCommitment: memory type is not LAZILY_ALLOCATED "
                             "(VUID-vkGetDeviceMemoryCommitment-memory-00690)",
                             VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(memory));
        *pCommitted = object->size;
        return;
    }
    d->dispatch.GetDeviceMemoryCommitment(device, object->real, pCommitted);
}

uint64_t GetDeviceMemoryOpaqueCaptureAddress(VkDevice device, const VkDeviceMemoryOpaqueCaptureAddressInfo* pInfo) {
    DeviceData* d = GetDeviceData(device);
    MemoryObject* object = d->memory->Lookup(pInfo->memory, "vkGetDeviceMemoryOpaqueCaptureAddress");
    if (!object) return 0;
    if (object->pooled) {
        // Capture-replay memory is never pooled; for a slice there is no "start of the object" address.
        d->reporter().Report(Severity::kWarning, "VMA-capture-address-pooled",
                             "vkGetDeviceMemoryOpaqueCaptureAddress: memory was not allocated with "
                             "VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_CAPTURE_REPLAY_BIT; returning 0",
                             VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(pInfo->memory));
        return 0;
    }
    VkDeviceMemoryOpaqueCaptureAddressInfo info = *pInfo;
    info.memory = object->real;
    return d->dispatch.GetDeviceMemoryOpaqueCaptureAddress(device, &info);
}

VkResult GetMemoryFdKHR(VkDevice device, const VkMemoryGetFdInfoKHR* pInfo, int* pFd) {
    DeviceData* d = GetDeviceData(device);
    MemoryObject* object = d->memory->Lookup(pInfo->memory, "vkGetMemoryFdKHR");
    if (!object) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    if (object->pooled) {
        // Export needs VkExportMemoryAllocateInfo at allocation (VUID-VkMemoryGetFdInfoKHR-handleType-00671),
        // and such allocations are never pooled.
        d->reporter().Report(Severity::kError, "VMA-export-not-exportable",
                             "vkGetMemoryFdKHR: memory was not allocated with VkExportMemoryAllocateInfo "
                             "(VUID-VkMemoryGetFdInfoKHR-handleType-00671)",
                             VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(pInfo->memory));
        return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    }
    VkMemoryGetFdInfoKHR info = *pInfo;
    info.memory = object->real;
    return d->dispatch.GetMemoryFdKHR(device, &info, pFd);
}

void SetDeviceMemoryPriorityEXT(VkDevice device, VkDeviceMemory memory, float priority) {
    DeviceData* d = GetDeviceData(device);
    MemoryObject* object = d->memory->Lookup(memory, "vkSetDeviceMemoryPriorityEXT");
    if (!object) return;
    // Priority belongs to a whole real object: for a slice it would change every neighbour's too.
    if (!object->pooled) d->dispatch.SetDeviceMemoryPriorityEXT(device, object->real, priority);
}

}  // namespace vma::layer
