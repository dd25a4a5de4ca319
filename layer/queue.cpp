// Queue operations: serialised with the layer's own transfer submissions when the layer shares
// the app's queue (corruption.h), and the points where idle empty blocks are returned and where
// every margin is checked (vkDeviceWaitIdle).
#include "corruption.h"
#include "dump.h"
#include "intercepts.h"
#include "layer.h"
#include "memory.h"

namespace vma::layer {

std::unique_lock<std::mutex> LockSharedQueue(DeviceData& device, VkQueue queue) {
    CorruptionGuard* guard = device.guard.get();
    if (!guard || !guard->sharedQueue() || guard->queue() != queue) return {};
    return std::unique_lock<std::mutex>(guard->queueMutex());
}

std::unique_lock<std::mutex> LockLayerQueue(DeviceData& device) {
    CorruptionGuard* guard = device.guard.get();
    if (!guard || !guard->queue()) return {};
    return std::unique_lock<std::mutex>(guard->queueMutex());
}

VkResult QueueSubmit(VkQueue queue, uint32_t submitCount, const VkSubmitInfo* pSubmits, VkFence fence) {
    DeviceData* device = GetDeviceData(queue);
    device->memory->TrimExpiredEmptyBlocks();
    auto lock = LockSharedQueue(*device, queue);
    return device->dispatch.QueueSubmit(queue, submitCount, pSubmits, fence);
}

VkResult QueueSubmit2(VkQueue queue, uint32_t submitCount, const VkSubmitInfo2* pSubmits, VkFence fence) {
    DeviceData* device = GetDeviceData(queue);
    device->memory->TrimExpiredEmptyBlocks();
    auto lock = LockSharedQueue(*device, queue);
    return device->dispatch.QueueSubmit2(queue, submitCount, pSubmits, fence);
}

VkResult QueueSubmit2KHR(VkQueue queue, uint32_t submitCount, const VkSubmitInfo2* pSubmits, VkFence fence) {
    DeviceData* device = GetDeviceData(queue);
    device->memory->TrimExpiredEmptyBlocks();
    auto lock = LockSharedQueue(*device, queue);
    return device->dispatch.QueueSubmit2KHR(queue, submitCount, pSubmits, fence);
}

VkResult QueueWaitIdle(VkQueue queue) {
    DeviceData* device = GetDeviceData(queue);
    auto lock = LockSharedQueue(*device, queue);
    return device->dispatch.QueueWaitIdle(queue);
}

// Debug labels on a queue need the queue externally synchronised too (tools and engines put them
// around their submissions).
void QueueBeginDebugUtilsLabelEXT(VkQueue queue, const VkDebugUtilsLabelEXT* pLabelInfo) {
    DeviceData* device = GetDeviceData(queue);
    auto lock = LockSharedQueue(*device, queue);
    device->dispatch.QueueBeginDebugUtilsLabelEXT(queue, pLabelInfo);
}

void QueueEndDebugUtilsLabelEXT(VkQueue queue) {
    DeviceData* device = GetDeviceData(queue);
    auto lock = LockSharedQueue(*device, queue);
    device->dispatch.QueueEndDebugUtilsLabelEXT(queue);
}

void QueueInsertDebugUtilsLabelEXT(VkQueue queue, const VkDebugUtilsLabelEXT* pLabelInfo) {
    DeviceData* device = GetDeviceData(queue);
    auto lock = LockSharedQueue(*device, queue);
    device->dispatch.QueueInsertDebugUtilsLabelEXT(queue, pLabelInfo);
}

VkResult DeviceWaitIdle(VkDevice device) {
    DeviceData* data = GetDeviceData(device);
    VkResult result;
    {
        auto lock = LockLayerQueue(*data);
        result = data->dispatch.DeviceWaitIdle(device);
    }
    data->memory->TrimExpiredEmptyBlocks();
    // The app's work is done: a good moment to look at every margin, and to take a state map.
    if (result == VK_SUCCESS && data->guard) data->guard->CheckAll("at vkDeviceWaitIdle");
    if (result == VK_SUCCESS) DumpIfRequested(*data, DumpTrigger::kIdle);
    return result;
}

}  // namespace vma::layer
