// Global state: the instance and device maps, keyed by dispatch key, and host allocation helpers.
#include <array>
#include <cstdlib>

#include "layer.h"
#include "memory.h"

namespace vma::layer {
namespace {

// Every device-level intercept starts with a device lookup, so it must not take a lock: devices
// live in a small open-addressed table of atomics. Entries change only in vkCreateDevice and
// vkDestroyDevice (under the mutex); a lookup of a live device never races with its own entry
// (vkDestroyDevice is externally synchronised with every other use of the device), and other
// devices' entries only ever change from empty/tombstone to a value or back.
constexpr std::size_t kDeviceSlots = 256;  // power of two; more live devices fall back to the map
void* const kTombstone = reinterpret_cast<void*>(~std::uintptr_t(0));

struct DeviceSlot {
    std::atomic<void*> key{nullptr};
    std::atomic<DeviceData*> data{nullptr};
};

struct Maps {
    std::shared_mutex mutex;
    std::unordered_map<DispatchKey, InstancePtr> instances;
    std::unordered_map<DispatchKey, DevicePtr> devices;
};

// Outside Maps, constant-initialised: the lock-free lookup needs no function-local static guard.
std::array<DeviceSlot, kDeviceSlots> gDeviceSlots;

std::size_t SlotHash(const void* key) {
    auto v = reinterpret_cast<std::uintptr_t>(key);
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(v >> 40) & (kDeviceSlots - 1);
}

// Caller holds the exclusive lock.
void PublishDeviceSlot(Maps& /*m*/, DispatchKey key, DeviceData* data) {
    for (std::size_t i = 0, h = SlotHash(key); i < kDeviceSlots; ++i, h = (h + 1) & (kDeviceSlots - 1)) {
        void* k = gDeviceSlots[h].key.load(std::memory_order_relaxed);
        if (k == nullptr || k == kTombstone) {
            gDeviceSlots[h].data.store(data, std::memory_order_relaxed);
            gDeviceSlots[h].key.store(key, std::memory_order_release);
            return;
        }
    }
    // Table full: lookups of this device take the locked map path.
}

void RetractDeviceSlot(Maps& /*m*/, DispatchKey key) {
    for (std::size_t i = 0, h = SlotHash(key); i < kDeviceSlots; ++i, h = (h + 1) & (kDeviceSlots - 1)) {
        void* k = gDeviceSlots[h].key.load(std::memory_order_relaxed);
        if (k == nullptr) return;
        if (k == key) {
            gDeviceSlots[h].data.store(nullptr, std::memory_order_relaxed);
            gDeviceSlots[h].key.store(kTombstone, std::memory_order_release);
            return;
        }
    }
}

// The loader dlcloses the layer when the last instance is destroyed and may load it again later:
// the maps are empty by then, so an ordinary static is safe.
Maps& GetMaps() {
    static Maps maps;
    return maps;
}

void UpdatePeak(std::atomic<std::uint64_t>& peak, std::uint64_t value) {
    std::uint64_t old = peak.load(std::memory_order_relaxed);
    while (value > old && !peak.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
    }
}

}  // namespace

void* HostAllocator::Allocate(std::size_t size, std::size_t alignment, VkSystemAllocationScope scope) const {
    if (present && callbacks.pfnAllocation) return callbacks.pfnAllocation(callbacks.pUserData, size, alignment, scope);
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}

void HostAllocator::Free(void* p) const {
    if (!p) return;
    if (present && callbacks.pfnFree) {
        callbacks.pfnFree(callbacks.pUserData, p);
    } else {
        std::free(p);
    }
}

bool MemoryCounters::ReserveDriverObject(std::uint64_t limit) {
    const std::uint64_t live = liveDriverObjects.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (live > limit) {
        liveDriverObjects.fetch_sub(1, std::memory_order_acq_rel);
        return false;
    }
    UpdatePeak(peakDriverObjects, live);
    return true;
}

void MemoryCounters::CancelDriverObject() { liveDriverObjects.fetch_sub(1, std::memory_order_acq_rel); }

void MemoryCounters::OnDriverAllocate(std::uint32_t heap, std::uint64_t bytes) {
    driverAllocations.fetch_add(1, std::memory_order_relaxed);
    UpdatePeak(peakDriverBytes[heap], driverBytes[heap].fetch_add(bytes, std::memory_order_relaxed) + bytes);
}

void MemoryCounters::OnDriverFree(std::uint32_t heap, std::uint64_t bytes) {
    driverFrees.fetch_add(1, std::memory_order_relaxed);
    liveDriverObjects.fetch_sub(1, std::memory_order_relaxed);
    driverBytes[heap].fetch_sub(bytes, std::memory_order_relaxed);
}

void MemoryCounters::OnAppAllocate(std::uint32_t heap, std::uint64_t bytes) {
    appAllocations.fetch_add(1, std::memory_order_relaxed);
    UpdatePeak(peakAppBytes[heap], appBytes[heap].fetch_add(bytes, std::memory_order_relaxed) + bytes);
}

void MemoryCounters::OnAppFree(std::uint32_t heap, std::uint64_t bytes) {
    appFrees.fetch_add(1, std::memory_order_relaxed);
    appBytes[heap].fetch_sub(bytes, std::memory_order_relaxed);
}

InstanceData* GetInstanceData(const void* dispatchable) {
    Maps& m = GetMaps();
    std::shared_lock lock(m.mutex);
    auto it = m.instances.find(GetDispatchKey(dispatchable));
    return it == m.instances.end() ? nullptr : it->second.get();
}

InstanceData* GetInstanceDataForPhysicalDevice(VkPhysicalDevice physicalDevice) {
    return GetInstanceData(physicalDevice);
}

namespace {
// More live devices than slots, or an unknown key: the locked map.
__attribute__((noinline)) DeviceData* GetDeviceDataSlow(DispatchKey key) {
    Maps& m = GetMaps();
    std::shared_lock lock(m.mutex);
    auto it = m.devices.find(key);
    return it == m.devices.end() ? nullptr : it->second.get();
}
}  // namespace

DeviceData* GetDeviceData(const void* dispatchable) {
    const DispatchKey key = GetDispatchKey(dispatchable);
    for (std::size_t i = 0, h = SlotHash(key); i < kDeviceSlots; ++i, h = (h + 1) & (kDeviceSlots - 1)) {
        void* k = gDeviceSlots[h].key.load(std::memory_order_acquire);
        if (k == key) return gDeviceSlots[h].data.load(std::memory_order_relaxed);
        if (k == nullptr) break;
    }
    return GetDeviceDataSlow(key);
}

void StoreInstanceData(DispatchKey key, InstancePtr data) {
    Maps& m = GetMaps();
    std::unique_lock lock(m.mutex);
    m.instances[key] = std::move(data);
}

InstancePtr TakeInstanceData(DispatchKey key) {
    Maps& m = GetMaps();
    std::unique_lock lock(m.mutex);
    auto it = m.instances.find(key);
    if (it == m.instances.end()) return nullptr;
    auto data = std::move(it->second);
    m.instances.erase(it);
    return data;
}

void StoreDeviceData(DispatchKey key, DevicePtr data) {
    Maps& m = GetMaps();
    std::unique_lock lock(m.mutex);
    PublishDeviceSlot(m, key, data.get());
    m.devices[key] = std::move(data);
}

DevicePtr TakeDeviceData(DispatchKey key) {
    Maps& m = GetMaps();
    std::unique_lock lock(m.mutex);
    auto it = m.devices.find(key);
    if (it == m.devices.end()) return nullptr;
    RetractDeviceSlot(m, key);
    auto data = std::move(it->second);
    m.devices.erase(it);
    return data;
}

}  // namespace vma::layer
