// Corruption detection and fill patterns for suballocated memory (VMA's VMA_DEBUG_MARGIN,
// VMA_DEBUG_DETECT_CORRUPTION and VMA_DEBUG_INITIALIZE_ALLOCATIONS, made to work for memory the
// CPU cannot map).
//
// Every slice gets margins before and after it (core::PoolConfig::marginBefore/After). With
// detect_corruption the margins hold the magic value 0x7F84E666 as 32-bit words, written when the
// slice is allocated and checked when it is freed, at vkDeviceWaitIdle and at vkDestroyDevice. The
// back guard starts right after the bytes the app asked for (rounded up to a word), so the slice's
// own tail padding is guarded too.
//
// Host-visible blocks are written and read through their persistent mapping. Device-local blocks
// get a VkBuffer over the whole block (TRANSFER_SRC|DST) and the layer records vkCmdFillBuffer /
// vkCmdCopyBuffer on a queue of its own: one it adds to vkCreateDevice when a graphics or compute
// family has a queue to spare, or else the app's first queue of such a family, with every
// submission to that queue (the app's and ours) serialised by the layer. Each of these submissions
// is waited for, so a check sees completed writes and a fill is done before the slice is handed out.
#pragma once

#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vma::layer {

struct DeviceData;
struct InstanceData;
struct MemoryObject;
struct DriverBlock;

// How the layer gets a queue for its own transfer commands; decided before vkCreateDevice.
// createInfo points into this object's vectors: it is filled in place and never copied.
struct LayerQueuePlan {
    LayerQueuePlan() = default;
    LayerQueuePlan(const LayerQueuePlan&) = delete;
    LayerQueuePlan& operator=(const LayerQueuePlan&) = delete;

    bool wanted = false;  // the layer needs a queue at all
    std::uint32_t family = 0;
    std::uint32_t index = 0;
    bool shared = false;  // the app's queue (family, index): submissions are serialised
    // The create info passed down: the app's, or a copy with one more queue.
    VkDeviceCreateInfo createInfo{};
    std::vector<VkDeviceQueueCreateInfo> queueInfos;
    std::vector<std::vector<float>> priorities;
};
void PlanLayerQueue(const InstanceData& instance, VkPhysicalDevice physicalDevice,
                    const VkDeviceCreateInfo& createInfo, LayerQueuePlan* plan);

// A byte range of one block and the 32-bit word to fill it with.
struct GuardRange {
    VkDeviceSize offset = 0;
    VkDeviceSize size = 0;
    std::uint32_t word = 0;
};

class CorruptionGuard {
public:
    // Returns null when neither detect_corruption nor fill_allocations is on.
    static std::unique_ptr<CorruptionGuard> Create(DeviceData& device, const LayerQueuePlan& plan,
                                                   PFN_vkSetDeviceLoaderData setLoaderData);
    ~CorruptionGuard();

    // Bytes of margin before and after every slice (0: no margins).
    VkDeviceSize margin() const { return margin_; }
    bool detect() const { return detect_; }

    // Block lifetime (called by the pool's block source, without pool locks held).
    void OnBlockCreated(std::uint32_t memoryType, DriverBlock& block);
    void OnBlockDestroyed(DriverBlock& block);
    // A slice was just carved out (margins written, 0xDC filled) / is about to go back (margins
    // checked, 0xEF filled). `handle` is the app's virtual handle, for reports.
    void OnAllocate(MemoryObject& object);
    void OnFree(MemoryObject& object, VkDeviceMemory handle);
    // Checks every live slice; returns the number of damaged ones (also reported).
    std::uint32_t CheckAll(const char* when);

    // The queue the layer submits to, and the lock every submission to it takes.
    VkQueue queue() const { return queue_; }
    bool sharedQueue() const { return shared_; }
    std::mutex& queueMutex() { return queueMutex_; }

private:
    explicit CorruptionGuard(DeviceData& device) : device_(device) {}
    bool InitQueue(const LayerQueuePlan& plan, PFN_vkSetDeviceLoaderData setLoaderData);
    bool EnsureStaging(VkDeviceSize bytes);
    // Transfer commands, waited for. Both take mutex_.
    bool Fill(VkBuffer buffer, const std::vector<GuardRange>& ranges);
    bool Read(VkBuffer buffer, const std::vector<GuardRange>& ranges, std::vector<std::uint8_t>* out);
    bool Begin();  // resets and begins the command buffer
    bool Submit();
    // The guard ranges of a slice (front margin, back margin + tail padding).
    void Guards(const MemoryObject& object, std::vector<GuardRange>* out) const;
    // Compares read bytes with the magic; reports; returns true when damaged.
    bool Inspect(const MemoryObject& object, std::uint64_t handle, const std::vector<GuardRange>& guards,
                 const std::uint8_t* bytes, const char* when);
    bool HostVisible(std::uint32_t memoryType) const;
    bool NonCoherent(std::uint32_t memoryType) const;
    void HostRanges(const MemoryObject& object, const std::vector<GuardRange>& ranges, bool flush);

    DeviceData& device_;
    VkDeviceSize margin_ = 0;
    bool detect_ = false;
    bool fill_ = false;

    std::mutex mutex_;  // the command buffer, fence and staging buffer below
    VkQueue queue_ = VK_NULL_HANDLE;
    bool shared_ = false;
    std::mutex queueMutex_;
    VkCommandPool commandPool_ = VK_NULL_HANDLE;
    VkCommandBuffer commandBuffer_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkBuffer staging_ = VK_NULL_HANDLE;
    VkDeviceMemory stagingMemory_ = VK_NULL_HANDLE;
    std::uint8_t* stagingMapped_ = nullptr;
    VkDeviceSize stagingSize_ = 0;
    bool stagingCoherent_ = true;
    std::uint32_t gpuWarned_ = 0;  // memory types already reported as not checkable
};

// Held around every submission to the layer's transfer queue when it is the app's queue (and for
// vkDeviceWaitIdle, which must not overlap any queue operation); an empty lock otherwise.
std::unique_lock<std::mutex> LockSharedQueue(DeviceData& device, VkQueue queue);
std::unique_lock<std::mutex> LockLayerQueue(DeviceData& device);

}  // namespace vma::layer
