// Per-instance and per-device state of the layer, keyed by dispatch key, and the helpers every
// intercept family uses.
#pragma once

#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>
#include <vulkan/vk_layer_dispatch_table.h>

#include <array>
#include <atomic>
#include <memory>
#include <new>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "corruption.h"
#include "period_gate.h"
#include "report.h"
#include "settings.h"

namespace vma::layer {

class MemoryManager;    // memory.h
class CorruptionGuard;  // corruption.h

using DispatchKey = void*;
inline DispatchKey GetDispatchKey(const void* dispatchable) { return *static_cast<void* const*>(dispatchable); }

// Host memory for the layer's own objects comes from the app's allocator when it gave one
// (LLP_LAYER_14); these helpers wrap the callbacks.
struct HostAllocator {
    VkAllocationCallbacks callbacks{};
    bool present = false;
    void* Allocate(std::size_t size, std::size_t alignment, VkSystemAllocationScope scope) const;
    void Free(void* p) const;
};

struct InstanceData {
    VkInstance instance = VK_NULL_HANDLE;
    VkLayerInstanceDispatchTable dispatch{};
    PFN_vkGetInstanceProcAddr nextGetInstanceProcAddr = nullptr;
    std::uint32_t apiVersion = VK_API_VERSION_1_0;  // what the app asked for
    std::unordered_set<std::string> enabledExtensions;
    Settings settings;
    std::unique_ptr<Reporter> reporter;
    HostAllocator allocator;
};

struct MemoryCounters {
    std::atomic<std::uint64_t> appAllocations{0};     // vkAllocateMemory calls that succeeded
    std::atomic<std::uint64_t> appFrees{0};
    std::atomic<std::uint64_t> driverAllocations{0};  // VkDeviceMemory objects the driver made
    std::atomic<std::uint64_t> driverFrees{0};
    std::atomic<std::uint64_t> liveDriverObjects{0};
    std::atomic<std::uint64_t> peakDriverObjects{0};
    std::array<std::atomic<std::uint64_t>, VK_MAX_MEMORY_HEAPS> driverBytes{};      // live, per heap
    std::array<std::atomic<std::uint64_t>, VK_MAX_MEMORY_HEAPS> peakDriverBytes{};  // peak, per heap
    std::array<std::atomic<std::uint64_t>, VK_MAX_MEMORY_HEAPS> appBytes{};         // live app bytes, per heap
    std::array<std::atomic<std::uint64_t>, VK_MAX_MEMORY_HEAPS> peakAppBytes{};

    // maxMemoryAllocationCount counts real objects (VUID-vkAllocateMemory-maxMemoryAllocationCount-04101):
    // a slot is reserved before the driver is called, so racing threads cannot overshoot it.
    bool ReserveDriverObject(std::uint64_t limit);
    void CancelDriverObject();
    void OnDriverAllocate(std::uint32_t heap, std::uint64_t bytes);  // after a successful reservation
    void OnDriverFree(std::uint32_t heap, std::uint64_t bytes);
    void OnAppAllocate(std::uint32_t heap, std::uint64_t bytes);
    void OnAppFree(std::uint32_t heap, std::uint64_t bytes);
};

struct DeviceData {
    VkDevice device = VK_NULL_HANDLE;
    VkPhysicalDevice physicalDevice = VK_NULL_HANDLE;
    InstanceData* instance = nullptr;
    VkLayerDispatchTable dispatch{};
    std::uint32_t apiVersion = VK_API_VERSION_1_0;  // effective: min(app, device)
    std::unordered_set<std::string> enabledExtensions;
    bool bufferDeviceAddress = false;  // feature enabled at device creation
    bool memoryPriority = false;       // VK_EXT_memory_priority enabled
    bool memoryBudget = false;         // the physical device supports VK_EXT_memory_budget
    VkPhysicalDeviceMemoryProperties memoryProperties{};
    VkPhysicalDeviceLimits limits{};
    HostAllocator allocator;
    MemoryCounters counters;
    std::atomic<std::uint64_t> presentCount{0};  // vkQueuePresentKHR calls (dump_on present:N)
    PeriodGate oomDumpGate{1'000'000'000};  // dump_on oom: at most one map a second
    std::unique_ptr<CorruptionGuard> guard;  // margins, checks and fills; null when all are off
    std::unique_ptr<MemoryManager> memory;

    bool HasExtension(const char* name) const { return enabledExtensions.count(name) != 0; }
    Reporter& reporter() const { return *instance->reporter; }
};

// Objects the layer keeps for the app's lifetime live in the app's host allocator when it gave one.
template <typename T>
struct HostDeleter {
    HostAllocator allocator;
    void operator()(T* p) const {
        if (!p) return;
        p->~T();
        allocator.Free(p);
    }
};
template <typename T>
using HostPtr = std::unique_ptr<T, HostDeleter<T>>;

template <typename T>
HostPtr<T> MakeHostObject(const HostAllocator& allocator, VkSystemAllocationScope scope) {
    void* mem = allocator.Allocate(sizeof(T), alignof(T) < 16 ? 16 : alignof(T), scope);
    if (!mem) return HostPtr<T>(nullptr, HostDeleter<T>{allocator});
    return HostPtr<T>(new (mem) T(), HostDeleter<T>{allocator});
}

using InstancePtr = HostPtr<InstanceData>;
using DevicePtr = HostPtr<DeviceData>;

// Global maps. Lookups take a shared lock; creation/destruction an exclusive one.
InstanceData* GetInstanceData(const void* dispatchable);
DeviceData* GetDeviceData(const void* dispatchable);
void StoreInstanceData(DispatchKey key, InstancePtr data);
InstancePtr TakeInstanceData(DispatchKey key);
void StoreDeviceData(DispatchKey key, DevicePtr data);
DevicePtr TakeDeviceData(DispatchKey key);
// Physical devices share their instance's dispatch key; this maps a physical device to the
// instance data that created it.
InstanceData* GetInstanceDataForPhysicalDevice(VkPhysicalDevice physicalDevice);

// Finds a struct of type `sType` in a pNext chain.
template <typename T>
const T* FindInChain(const void* pNext, VkStructureType sType) {
    for (auto* p = static_cast<const VkBaseInStructure*>(pNext); p; p = p->pNext) {
        if (p->sType == sType) return reinterpret_cast<const T*>(p);
    }
    return nullptr;
}

}  // namespace vma::layer
