// Corruption detection and fill patterns: see corruption.h.
#include "corruption.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "guard.h"
#include "layer.h"
#include "memory.h"

namespace vma::layer {
namespace {

constexpr VkDeviceSize kDefaultMargin = 64;
constexpr std::uint64_t kFenceTimeoutNs = 10ull * 1000 * 1000 * 1000;
constexpr std::uint32_t kFillCreatedWord = 0x01010101u * core::kFillCreated;
constexpr std::uint32_t kFillDestroyedWord = 0x01010101u * core::kFillDestroyed;

// The bytes of `ranges` of a mapped block, one after the other (what Inspect reads).
std::vector<std::uint8_t> Gather(const std::uint8_t* mapped, const std::vector<GuardRange>& ranges) {
    std::vector<std::uint8_t> bytes;
    for (const GuardRange& g : ranges) bytes.insert(bytes.end(), mapped + g.offset, mapped + g.offset + g.size);
    return bytes;
}

bool CanRecordFills(VkQueueFlags flags) { return (flags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) != 0; }

}  // namespace

void PlanLayerQueue(const InstanceData& instance, VkPhysicalDevice physicalDevice,
                    const VkDeviceCreateInfo& createInfo, LayerQueuePlan* out) {
    LayerQueuePlan& plan = *out;
    plan.createInfo = createInfo;
    const Settings& settings = instance.settings;
    if (!(settings.detectCorruption || settings.fillAllocations) || settings.passThroughAll) return;
    // Only memory the host cannot map needs transfer commands.
    VkPhysicalDeviceMemoryProperties memory{};
    instance.dispatch.GetPhysicalDeviceMemoryProperties(physicalDevice, &memory);
    bool deviceOnly = false;
    for (std::uint32_t t = 0; t < memory.memoryTypeCount; ++t) {
        if (!(memory.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) deviceOnly = true;
    }
    if (!deviceOnly) return;

    std::uint32_t familyCount = 0;
    instance.dispatch.GetPhysicalDeviceQueueFamilyProperties(physicalDevice, &familyCount, nullptr);
    std::vector<VkQueueFamilyProperties> families(familyCount);
    instance.dispatch.GetPhysicalDeviceQueueFamilyProperties(physicalDevice, &familyCount, families.data());
    const std::uint32_t requested = createInfo.queueCreateInfoCount;
    auto usePlan = [&](std::uint32_t family, std::uint32_t index, bool shared) {
        plan.wanted = true;
        plan.family = family;
        plan.index = index;
        plan.shared = shared;
        if (!plan.queueInfos.empty()) {
            plan.createInfo.queueCreateInfoCount = static_cast<std::uint32_t>(plan.queueInfos.size());
            plan.createInfo.pQueueCreateInfos = plan.queueInfos.data();
        }
    };

    // 1. One more queue in a family the app uses, when the family has one to spare.
    for (std::uint32_t i = 0; i < requested; ++i) {
        const VkDeviceQueueCreateInfo& q = createInfo.pQueueCreateInfos[i];
        if (q.flags != 0 || q.queueFamilyIndex >= familyCount) continue;
        const VkQueueFamilyProperties& f = families[q.queueFamilyIndex];
        if (!CanRecordFills(f.queueFlags) || q.queueCount >= f.queueCount) continue;
        plan.queueInfos.assign(createInfo.pQueueCreateInfos, createInfo.pQueueCreateInfos + requested);
        plan.priorities.emplace_back(q.pQueuePriorities, q.pQueuePriorities + q.queueCount);
        plan.priorities.back().push_back(0.5f);
        plan.queueInfos[i].queueCount = q.queueCount + 1;
        plan.queueInfos[i].pQueuePriorities = plan.priorities.back().data();
        return usePlan(q.queueFamilyIndex, q.queueCount, false);
    }
    // 2. A queue of a family the app does not use.
    for (std::uint32_t family = 0; family < familyCount; ++family) {
        if (!CanRecordFills(families[family].queueFlags) || families[family].queueCount == 0) continue;
        bool used = false;
        for (std::uint32_t i = 0; i < requested; ++i) used |= createInfo.pQueueCreateInfos[i].queueFamilyIndex == family;
        if (used) continue;
        plan.queueInfos.assign(createInfo.pQueueCreateInfos, createInfo.pQueueCreateInfos + requested);
        plan.priorities.push_back({0.5f});
        VkDeviceQueueCreateInfo q{};
        q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
        q.queueFamilyIndex = family;
        q.queueCount = 1;
        q.pQueuePriorities = plan.priorities.back().data();
        plan.queueInfos.push_back(q);
        return usePlan(family, 0, false);
    }
    // 3. The app's own queue, shared.
    for (std::uint32_t i = 0; i < requested; ++i) {
        const VkDeviceQueueCreateInfo& q = createInfo.pQueueCreateInfos[i];
        if (q.flags != 0 || q.queueFamilyIndex >= familyCount || q.queueCount == 0) continue;
        if (!CanRecordFills(families[q.queueFamilyIndex].queueFlags)) continue;
        return usePlan(q.queueFamilyIndex, 0, true);
    }
}

std::unique_ptr<CorruptionGuard> CorruptionGuard::Create(DeviceData& device, const LayerQueuePlan& plan,
                                                         PFN_vkSetDeviceLoaderData setLoaderData) {
    const Settings& settings = device.instance->settings;
    if (settings.passThroughAll) return nullptr;
    if (!settings.detectCorruption && !settings.fillAllocations && settings.debugMargin == 0) return nullptr;
    std::unique_ptr<CorruptionGuard> guard(new CorruptionGuard(device));
    guard->detect_ = settings.detectCorruption;
    guard->fill_ = settings.fillAllocations;
    VkDeviceSize margin = settings.debugMargin;
    if (margin == 0 && guard->detect_) margin = kDefaultMargin;
    if (margin != 0) {
        // Whole atoms on non-coherent types, so that flushing a margin never touches a neighbour.
        for (std::uint32_t t = 0; t < device.memoryProperties.memoryTypeCount; ++t) {
            if (guard->NonCoherent(t)) margin = core::AlignUp(margin, std::max<VkDeviceSize>(device.limits.nonCoherentAtomSize, 4));
        }
    }
    guard->margin_ = margin;
    if (plan.wanted && !guard->InitQueue(plan, setLoaderData)) {
        device.reporter().Report(Severity::kWarning, "VMA-corruption-no-queue",
                                 "detect_corruption/fill_allocations: no queue for transfer commands; memory the "
                                 "host cannot map is neither checked nor filled");
    }
    device.reporter().Report(Severity::kDebug, "VMA-corruption",
                             "margins of " + std::to_string(margin) + " bytes" + (guard->detect_ ? ", checked" : "") +
                                 (guard->fill_ ? ", fill patterns" : "") +
                                 (guard->queue_ ? (guard->shared_ ? "; transfer queue shared with the app (family "
                                                                  : "; own transfer queue (family ") +
                                                      std::to_string(plan.family) + ", index " + std::to_string(plan.index) + ")"
                                                : std::string()));
    return guard;
}

bool CorruptionGuard::InitQueue(const LayerQueuePlan& plan, PFN_vkSetDeviceLoaderData setLoaderData) {
    const VkDevice device = device_.device;
    const auto& d = device_.dispatch;
    if (!setLoaderData) return false;
    VkQueue queue = VK_NULL_HANDLE;
    d.GetDeviceQueue(device, plan.family, plan.index, &queue);
    // The loader sets a queue's dispatch pointer when the app asks for it; the app may not have yet.
    if (!queue || setLoaderData(device, queue) != VK_SUCCESS) return false;
    VkCommandPoolCreateInfo pool{};
    pool.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT | VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pool.queueFamilyIndex = plan.family;
    if (d.CreateCommandPool(device, &pool, nullptr, &commandPool_) != VK_SUCCESS) return false;
    VkCommandBufferAllocateInfo cb{};
    cb.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    cb.commandPool = commandPool_;
    cb.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cb.commandBufferCount = 1;
    if (d.AllocateCommandBuffers(device, &cb, &commandBuffer_) != VK_SUCCESS) return false;
    if (setLoaderData(device, commandBuffer_) != VK_SUCCESS) return false;
    VkFenceCreateInfo fence{};
    fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    if (d.CreateFence(device, &fence, nullptr, &fence_) != VK_SUCCESS) return false;
    queue_ = queue;
    shared_ = plan.shared;
    return true;
}

CorruptionGuard::~CorruptionGuard() {
    const VkDevice device = device_.device;
    const auto& d = device_.dispatch;
    if (staging_) d.DestroyBuffer(device, staging_, nullptr);
    if (stagingMemory_) {
        d.FreeMemory(device, stagingMemory_, nullptr);
        device_.counters.OnDriverFree(0, 0);
    }
    if (fence_) d.DestroyFence(device, fence_, nullptr);
    if (commandPool_) d.DestroyCommandPool(device, commandPool_, nullptr);
}

bool CorruptionGuard::HostVisible(std::uint32_t memoryType) const {
    return device_.memoryProperties.memoryTypes[memoryType].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
}

bool CorruptionGuard::NonCoherent(std::uint32_t memoryType) const {
    const auto flags = device_.memoryProperties.memoryTypes[memoryType].propertyFlags;
    return (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && !(flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
}

void CorruptionGuard::OnBlockCreated(std::uint32_t memoryType, DriverBlock& block) {
    if (HostVisible(memoryType) || !queue_ || (!detect_ && !fill_)) return;
    const VkDevice device = device_.device;
    const auto& d = device_.dispatch;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = block.size;
    info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer buffer = VK_NULL_HANDLE;
    bool ok = d.CreateBuffer(device, &info, nullptr, &buffer) == VK_SUCCESS;
    if (ok) {
        VkMemoryRequirements req{};
        d.GetBufferMemoryRequirements(device, buffer, &req);
        ok = (req.memoryTypeBits & (1u << memoryType)) && req.size <= block.size &&
             d.BindBufferMemory(device, buffer, block.memory, 0) == VK_SUCCESS;
    }
    if (!ok) {
        if (buffer) d.DestroyBuffer(device, buffer, nullptr);
        std::lock_guard<std::mutex> lock(mutex_);
        if (!(gpuWarned_ & (1u << memoryType))) {
            gpuWarned_ |= 1u << memoryType;
            device_.reporter().Report(Severity::kWarning, "VMA-corruption-unchecked",
                                      "memory type " + std::to_string(memoryType) +
                                          " holds no transfer buffer: its margins are not checked or filled");
        }
        return;
    }
    block.guardBuffer = buffer;
}

void CorruptionGuard::OnBlockDestroyed(DriverBlock& block) {
    if (!block.guardBuffer) return;
    std::lock_guard<std::mutex> lock(mutex_);  // no read or fill of this block is in flight
    device_.dispatch.DestroyBuffer(device_.device, block.guardBuffer, nullptr);
    block.guardBuffer = VK_NULL_HANDLE;
}

void CorruptionGuard::Guards(const MemoryObject& object, std::vector<GuardRange>* out) const {
    out->clear();
    const std::uint32_t magic = core::kCorruptionMagic;
    if (margin_ != 0) out->push_back({object.offset - margin_, margin_, magic});
    const VkDeviceSize begin = object.offset + core::AlignUp(object.size, 4);
    const VkDeviceSize end = object.offset + object.reserved + margin_;
    if (end > begin) out->push_back({begin, end - begin, magic});
}

void CorruptionGuard::HostRanges(const MemoryObject& object, const std::vector<GuardRange>& ranges, bool flush) {
    if (!NonCoherent(object.memoryTypeIndex) || ranges.empty()) return;
    const VkDeviceSize atom = std::max<VkDeviceSize>(device_.limits.nonCoherentAtomSize, 1);
    std::vector<VkMappedMemoryRange> mapped;
    for (const GuardRange& r : ranges) {
        VkMappedMemoryRange m{};
        m.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
        m.memory = object.real;
        m.offset = core::AlignDown(r.offset, atom);
        m.size = core::AlignUp(r.offset + r.size, atom) - m.offset;
        mapped.push_back(m);
    }
    const auto count = static_cast<std::uint32_t>(mapped.size());
    if (flush) {
        device_.dispatch.FlushMappedMemoryRanges(device_.device, count, mapped.data());
    } else {
        device_.dispatch.InvalidateMappedMemoryRanges(device_.device, count, mapped.data());
    }
}

bool CorruptionGuard::EnsureStaging(VkDeviceSize bytes) {
    if (stagingSize_ >= bytes) return true;
    const VkDevice device = device_.device;
    const auto& d = device_.dispatch;
    if (staging_) {
        d.DestroyBuffer(device, staging_, nullptr);
        d.FreeMemory(device, stagingMemory_, nullptr);
        device_.counters.OnDriverFree(0, 0);
        staging_ = VK_NULL_HANDLE;
        stagingMemory_ = VK_NULL_HANDLE;
        stagingSize_ = 0;
    }
    VkDeviceSize size = 65536;
    while (size < bytes) size *= 2;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = size;
    info.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if (d.CreateBuffer(device, &info, nullptr, &staging_) != VK_SUCCESS) return false;
    VkMemoryRequirements req{};
    d.GetBufferMemoryRequirements(device, staging_, &req);
    std::uint32_t type = UINT32_MAX;
    for (std::uint32_t t = 0; t < device_.memoryProperties.memoryTypeCount; ++t) {
        if (!(req.memoryTypeBits & (1u << t)) || !HostVisible(t)) continue;
        if (type == UINT32_MAX || (NonCoherent(type) && !NonCoherent(t))) type = t;
    }
    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = type;
    void* mapped = nullptr;
    if (type == UINT32_MAX || !device_.counters.ReserveDriverObject(device_.limits.maxMemoryAllocationCount)) {
        d.DestroyBuffer(device, staging_, nullptr);
        staging_ = VK_NULL_HANDLE;
        return false;
    }
    if (d.AllocateMemory(device, &alloc, nullptr, &stagingMemory_) != VK_SUCCESS) {
        device_.counters.CancelDriverObject();
        d.DestroyBuffer(device, staging_, nullptr);
        staging_ = VK_NULL_HANDLE;
        return false;
    }
    device_.counters.OnDriverAllocate(0, 0);
    if (d.BindBufferMemory(device, staging_, stagingMemory_, 0) != VK_SUCCESS ||
        d.MapMemory(device, stagingMemory_, 0, VK_WHOLE_SIZE, 0, &mapped) != VK_SUCCESS) {
        d.DestroyBuffer(device, staging_, nullptr);
        d.FreeMemory(device, stagingMemory_, nullptr);
        device_.counters.OnDriverFree(0, 0);
        staging_ = VK_NULL_HANDLE;
        stagingMemory_ = VK_NULL_HANDLE;
        return false;
    }
    stagingMapped_ = static_cast<std::uint8_t*>(mapped);
    stagingSize_ = size;
    stagingCoherent_ = !NonCoherent(type);
    return true;
}

bool CorruptionGuard::Begin() {
    const auto& d = device_.dispatch;
    d.ResetCommandBuffer(commandBuffer_, 0);
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    return d.BeginCommandBuffer(commandBuffer_, &begin) == VK_SUCCESS;
}

bool CorruptionGuard::Submit() {
    const auto& d = device_.dispatch;
    if (d.EndCommandBuffer(commandBuffer_) != VK_SUCCESS) return false;
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &commandBuffer_;
    VkResult r;
    {
        std::lock_guard<std::mutex> lock(queueMutex_);
        r = d.QueueSubmit(queue_, 1, &submit, fence_);
    }
    if (r != VK_SUCCESS) return false;
    r = d.WaitForFences(device_.device, 1, &fence_, VK_TRUE, kFenceTimeoutNs);
    if (r != VK_SUCCESS) {
        // The command buffer is still pending: it can be neither reset nor reused. Give up on
        // transfer commands for this device rather than block the app again.
        device_.reporter().Report(Severity::kError, "VMA-corruption-timeout",
                                  "a margin check/fill on the layer's transfer queue did not finish in 10 s (the "
                                  "queue may be shared with app work that waits on a semaphore); device-local "
                                  "margins are no longer checked");
        queue_ = VK_NULL_HANDLE;
        return false;
    }
    d.ResetFences(device_.device, 1, &fence_);
    return true;
}

bool CorruptionGuard::Fill(VkBuffer buffer, const std::vector<GuardRange>& ranges) {
    if (!queue_ || !buffer || ranges.empty()) return false;
    const auto& d = device_.dispatch;
    if (!Begin()) return false;
    for (const GuardRange& r : ranges) {
        if (r.size >= 4) d.CmdFillBuffer(commandBuffer_, buffer, r.offset, r.size & ~VkDeviceSize{3}, r.word);
    }
    return Submit();
}

bool CorruptionGuard::Read(VkBuffer buffer, const std::vector<GuardRange>& ranges, std::vector<std::uint8_t>* out) {
    if (!queue_ || !buffer || ranges.empty()) return false;
    VkDeviceSize total = 0;
    std::vector<VkBufferCopy> copies;
    for (const GuardRange& r : ranges) {
        copies.push_back({r.offset, total, r.size});
        total += r.size;
    }
    if (!EnsureStaging(total)) return false;
    const auto& d = device_.dispatch;
    if (!Begin()) return false;
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    d.CmdPipelineBarrier(commandBuffer_, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                         &barrier, 0, nullptr, 0, nullptr);
    d.CmdCopyBuffer(commandBuffer_, buffer, staging_, static_cast<std::uint32_t>(copies.size()), copies.data());
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    d.CmdPipelineBarrier(commandBuffer_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0,
                         nullptr, 0, nullptr);
    if (!Submit()) return false;
    if (!stagingCoherent_) {
        VkMappedMemoryRange m{};
        m.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
        m.memory = stagingMemory_;
        m.offset = 0;
        m.size = VK_WHOLE_SIZE;
        d.InvalidateMappedMemoryRanges(device_.device, 1, &m);
    }
    out->assign(stagingMapped_, stagingMapped_ + total);
    return true;
}

bool CorruptionGuard::Inspect(const MemoryObject& object, std::uint64_t handle, const std::vector<GuardRange>& guards,
                              const std::uint8_t* bytes, const char* when) {
    bool damaged = false;
    VkDeviceSize position = 0;
    for (const GuardRange& g : guards) {
        const auto bad = core::CheckMagic(bytes + position, g.size);
        position += g.size;
        if (!bad) continue;
        damaged = true;
        const auto first = static_cast<std::int64_t>(g.offset + bad->first) - static_cast<std::int64_t>(object.offset);
        const auto last = static_cast<std::int64_t>(g.offset + bad->last) - static_cast<std::int64_t>(object.offset);
        const bool before = first < 0;
        std::string name;
        if (object.hasSideData.load(std::memory_order_relaxed)) {
            std::lock_guard<std::mutex> lock(device_.memory->namesMutex);
            auto it = device_.memory->names.find(handle);
            if (it != device_.memory->names.end()) name = " \"" + it->second + "\"";
        }
        const auto size = static_cast<std::int64_t>(object.size);
        std::string where = before ? std::to_string(-first) + " to " + std::to_string(-last) + " bytes before its start"
                                   : std::to_string(first - size + 1) + " to " + std::to_string(last - size + 1) +
                                         " bytes past its end";
        device_.reporter().Report(
            Severity::kError, "VMA-corruption",
            std::string("memory corruption detected ") + when + ": VkDeviceMemory " + Hex(handle) + name +
                " (memory type " + std::to_string(object.memoryTypeIndex) + ", " + std::to_string(object.size) +
                " bytes at offset " + std::to_string(object.offset) + " of block " +
                Hex(reinterpret_cast<std::uint64_t>(object.real)) + "): the margin " + (before ? "before" : "after") +
                " it was overwritten, bytes [" + std::to_string(first) + ", " + std::to_string(last) +
                "] relative to its start (" + where + ")",
            VK_OBJECT_TYPE_DEVICE_MEMORY, handle);
    }
    return damaged;
}

void CorruptionGuard::OnAllocate(MemoryObject& object) {
    std::vector<GuardRange> ranges;
    if (detect_) Guards(object, &ranges);
    if (fill_) ranges.push_back({object.offset, core::AlignUp(object.size, 4), kFillCreatedWord});
    if (ranges.empty()) return;
    if (object.blockMapped) {
        for (const GuardRange& r : ranges) {
            std::uint8_t* p = object.blockMapped + r.offset;
            if (r.word == core::kCorruptionMagic) {
                core::WriteMagic(p, r.size);
            } else {
                core::Fill(p, std::min<VkDeviceSize>(r.size, object.size), core::kFillCreated);
            }
        }
        HostRanges(object, ranges, true);
        return;
    }
    const auto* block = reinterpret_cast<const DriverBlock*>(object.poolBlock->cookie);
    std::lock_guard<std::mutex> lock(mutex_);
    Fill(block->guardBuffer, ranges);
}

void CorruptionGuard::OnFree(MemoryObject& object, VkDeviceMemory handle) {
    const auto h = reinterpret_cast<std::uint64_t>(handle);
    std::vector<GuardRange> guards;
    if (detect_) Guards(object, &guards);
    if (object.blockMapped) {
        if (!guards.empty()) {
            HostRanges(object, guards, false);
            Inspect(object, h, guards, Gather(object.blockMapped, guards).data(), "at vkFreeMemory");
        }
        if (fill_) {
            core::Fill(object.blockMapped + object.offset, object.size, core::kFillDestroyed);
            HostRanges(object, {{object.offset, object.size, 0}}, true);
        }
        return;
    }
    const auto* block = reinterpret_cast<const DriverBlock*>(object.poolBlock->cookie);
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::uint8_t> bytes;
    if (!guards.empty() && Read(block->guardBuffer, guards, &bytes)) {
        Inspect(object, h, guards, bytes.data(), "at vkFreeMemory");
    }
    if (fill_) Fill(block->guardBuffer, {{object.offset, core::AlignUp(object.size, 4), kFillDestroyedWord}});
}

std::uint32_t CorruptionGuard::CheckAll(const char* when) {
    if (!detect_) return 0;
    struct Item {
        MemoryObject* object;
        std::uint32_t generation;
        std::vector<GuardRange> guards;
    };
    struct BlockItems {
        VkBuffer buffer;
        std::vector<Item> items;
    };
    std::uint32_t damaged = 0;
    std::vector<BlockItems> deviceBlocks;
    // mutex_ first, then the pool locks (ForEachBlock): blocks cannot go away before they are read.
    std::lock_guard<std::mutex> lock(mutex_);
    device_.memory->ForEachPool([&](std::uint32_t, const core::Pool& pool) {
        pool.ForEachBlock([&](const core::Block& block) {
            const auto* driverBlock = reinterpret_cast<const DriverBlock*>(block.cookie);
            if (!driverBlock->mapped && !driverBlock->guardBuffer) return;
            BlockItems items{driverBlock->guardBuffer, {}};
            block.metadata->Walk([&](const core::RangeInfo& range) {
                auto* object = static_cast<MemoryObject*>(range.userData);
                if (range.free || !object || !object->live.load(std::memory_order_acquire)) return;
                Item item{object, object->generation.load(std::memory_order_acquire), {}};
                Guards(*object, &item.guards);
                if (driverBlock->mapped) {
                    HostRanges(*object, item.guards, false);
                    damaged += Inspect(*object, device_.memory->HandleOf(*object), item.guards,
                                       Gather(driverBlock->mapped, item.guards).data(), when);
                } else {
                    items.items.push_back(std::move(item));
                }
            });
            if (!items.items.empty()) deviceBlocks.push_back(std::move(items));
        });
    });
    for (const BlockItems& block : deviceBlocks) {
        std::vector<GuardRange> all;
        for (const Item& item : block.items) all.insert(all.end(), item.guards.begin(), item.guards.end());
        std::vector<std::uint8_t> bytes;
        if (!Read(block.buffer, all, &bytes)) continue;
        std::size_t position = 0;
        for (const Item& item : block.items) {
            VkDeviceSize length = 0;
            for (const GuardRange& g : item.guards) length += g.size;
            // Freed (or freed and reused) while the blocks were read: its margins are not ours to judge.
            if (item.object->live.load(std::memory_order_acquire) &&
                item.object->generation.load(std::memory_order_acquire) == item.generation) {
                damaged += Inspect(*item.object, device_.memory->HandleOf(*item.object), item.guards,
                                   bytes.data() + position, when);
            }
            position += length;
        }
    }
    return damaged;
}

}  // namespace vma::layer
