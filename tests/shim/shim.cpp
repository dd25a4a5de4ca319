// VK_LAYER_VMA_test_shim — a test layer that sits *below* VK_LAYER_VMA_suballocator
// (VK_INSTANCE_LAYERS=VK_LAYER_VMA_suballocator:VK_LAYER_VMA_test_shim), so everything it sees is
// what the suballocator sends to the driver.
//
// Always: records every VkDeviceMemory the driver returned and checks every VkDeviceMemory it
// receives in any call; a handle the driver did not make (or already freed) is a violation:
//   "VMA_SHIM_VIOLATION: <call> got VkDeviceMemory 0x... not created by the driver"
// on stderr, a counter, and abort() unless VMA_SHIM_ABORT_ON_VIOLATION=0. Such a call is never
// passed to the driver.
//
// Environment (read at vkCreateInstance for physical-device queries, at vkCreateDevice for the rest):
//   VMA_SHIM_ABORT_ON_VIOLATION=0|1     default 1
//   VMA_SHIM_FAKE_NONCOHERENT=1          append a memory type aliasing type 0 as HOST_VISIBLE|HOST_CACHED
//                                        without HOST_COHERENT; memory requirements include it
//   VMA_SHIM_FAKE_DEVICE_LOCAL=1         the same, but the type is DEVICE_LOCAL only (not HOST_VISIBLE):
//                                        device-local memory as discrete GPUs have it, on lavapipe
//   VMA_SHIM_RANGE_LOG=<path>            append "flush|invalidate <memory> <offset> <size>" per range and
//                                        "map <memory> <offset> <size> <pointer>" per successful map
//   VMA_SHIM_MAX_ALLOCATION_COUNT=N      report maxMemoryAllocationCount=N; fail allocations beyond N live
//   VMA_SHIM_FAIL_ALLOCATION=N           the Nth vkAllocateMemory (1-based, per device) fails
//   VMA_SHIM_FAIL_ALLOCATIONS_ABOVE=B    allocations larger than B bytes fail ...
//   VMA_SHIM_FAIL_FROM=N                 ... from the Nth vkAllocateMemory on (default 1)
//   VMA_SHIM_FAIL_MAP=N                  the Nth vkMapMemory fails with VK_ERROR_MEMORY_MAP_FAILED
//   VMA_SHIM_REPORT_FILE=<path>          append the vkDestroyDevice report line to this file
//   VMA_SHIM_MIN_ALIGNMENT=B             report at least this alignment (power of two) in every
//                                        vkGet*MemoryRequirements* (like drivers with large image alignments)
// At vkDestroyDevice: "VMA_SHIM_REPORT live=<n> allocations=<n> frees=<n> violations=<n>" on stderr.
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>
#include <vulkan/vk_layer_dispatch_table.h>
#include <vulkan/vk_dispatch_table_helper.h>

#include <atomic>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace shim {
namespace {

constexpr std::uint32_t kNoFakeType = UINT32_MAX;

std::uint64_t EnvU64(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    return std::strtoull(v, nullptr, 0);
}

struct Config {
    bool abortOnViolation = true;
    bool fakeNonCoherent = false;
    bool fakeDeviceLocal = false;
    bool FakeType() const { return fakeNonCoherent || fakeDeviceLocal; }
    std::string rangeLog;
    std::uint64_t maxAllocationCount = 0;  // 0: driver's
    std::uint64_t failAllocation = 0;      // 0: never
    bool failAbove = false;
    std::uint64_t failAboveBytes = 0;
    std::uint64_t failFrom = 1;
    std::uint64_t failMap = 0;
    std::string reportFile;
    std::uint64_t minAlignment = 0;

    static Config FromEnv() {
        Config c;
        c.abortOnViolation = EnvU64("VMA_SHIM_ABORT_ON_VIOLATION", 1) != 0;
        c.fakeNonCoherent = EnvU64("VMA_SHIM_FAKE_NONCOHERENT", 0) != 0;
        c.fakeDeviceLocal = EnvU64("VMA_SHIM_FAKE_DEVICE_LOCAL", 0) != 0;
        if (const char* p = std::getenv("VMA_SHIM_RANGE_LOG")) c.rangeLog = p;
        c.maxAllocationCount = EnvU64("VMA_SHIM_MAX_ALLOCATION_COUNT", 0);
        c.failAllocation = EnvU64("VMA_SHIM_FAIL_ALLOCATION", 0);
        const char* above = std::getenv("VMA_SHIM_FAIL_ALLOCATIONS_ABOVE");
        c.failAbove = above && *above;
        c.failAboveBytes = EnvU64("VMA_SHIM_FAIL_ALLOCATIONS_ABOVE", 0);
        c.failFrom = EnvU64("VMA_SHIM_FAIL_FROM", 1);
        c.failMap = EnvU64("VMA_SHIM_FAIL_MAP", 0);
        if (const char* p = std::getenv("VMA_SHIM_REPORT_FILE")) c.reportFile = p;
        c.minAlignment = EnvU64("VMA_SHIM_MIN_ALIGNMENT", 0);
        return c;
    }
};

using DispatchKey = void*;
DispatchKey KeyOf(const void* dispatchable) { return *static_cast<void* const*>(dispatchable); }

struct InstanceData {
    VkInstance instance = VK_NULL_HANDLE;
    VkLayerInstanceDispatchTable dispatch{};
    PFN_vkGetInstanceProcAddr nextGipa = nullptr;
    Config config;
};

struct MemoryRecord {
    VkDeviceSize size = 0;
    std::uint32_t appType = 0;  // the index the layer above used (may be the fake one)
    bool mapped = false;
    VkDeviceSize mapOffset = 0;
    VkDeviceSize mapSize = 0;  // resolved
};

struct DeviceData {
    VkDevice device = VK_NULL_HANDLE;
    VkLayerDispatchTable dispatch{};
    PFN_vkGetDeviceProcAddr nextGdpa = nullptr;
    Config config;
    std::uint32_t fakeType = kNoFakeType;
    VkDeviceSize atom = 1;

    std::mutex mutex;
    std::unordered_map<std::uint64_t, MemoryRecord> live;
    std::uint64_t pending = 0;  // allocations on their way to the driver (for the count limit)
    std::uint64_t allocateCalls = 0;
    std::uint64_t mapCalls = 0;
    std::uint64_t allocations = 0;
    std::uint64_t frees = 0;
    std::atomic<std::uint64_t> violations{0};
    FILE* rangeLog = nullptr;
};

std::mutex gMapsMutex;
std::unordered_map<DispatchKey, std::unique_ptr<InstanceData>> gInstances;
std::unordered_map<DispatchKey, std::unique_ptr<DeviceData>> gDevices;

InstanceData* GetInstance(const void* dispatchable) {
    std::lock_guard<std::mutex> lock(gMapsMutex);
    auto it = gInstances.find(KeyOf(dispatchable));
    return it == gInstances.end() ? nullptr : it->second.get();
}

DeviceData* GetDevice(const void* dispatchable) {
    std::lock_guard<std::mutex> lock(gMapsMutex);
    auto it = gDevices.find(KeyOf(dispatchable));
    return it == gDevices.end() ? nullptr : it->second.get();
}

std::uint64_t H(VkDeviceMemory m) { return reinterpret_cast<std::uint64_t>(m); }

__attribute__((format(printf, 2, 3))) void Violation(DeviceData& d, const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    std::fprintf(stderr, "VMA_SHIM_VIOLATION: %s\n", buf);
    std::fflush(stderr);
    d.violations.fetch_add(1);
    if (d.config.abortOnViolation) std::abort();
}

// Caller holds d.mutex. Null handles are the caller's business (legal in some calls).
MemoryRecord* CheckLocked(DeviceData& d, const char* call, VkDeviceMemory memory) {
    auto it = d.live.find(H(memory));
    if (it == d.live.end()) {
        Violation(d, "%s got VkDeviceMemory 0x%" PRIx64 " not created by the driver", call, H(memory));
        return nullptr;
    }
    return &it->second;
}

bool Check(DeviceData& d, const char* call, VkDeviceMemory memory) {
    std::lock_guard<std::mutex> lock(d.mutex);
    return CheckLocked(d, call, memory) != nullptr;
}

// ------------------------------------------------------------------------------------------------
// Instance level.

VkLayerInstanceCreateInfo* FindInstanceLink(const VkInstanceCreateInfo* ci) {
    for (auto* p = static_cast<const VkBaseInStructure*>(ci->pNext); p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO &&
            reinterpret_cast<const VkLayerInstanceCreateInfo*>(p)->function == VK_LAYER_LINK_INFO)
            return const_cast<VkLayerInstanceCreateInfo*>(reinterpret_cast<const VkLayerInstanceCreateInfo*>(p));
    }
    return nullptr;
}

VkLayerDeviceCreateInfo* FindDeviceLink(const VkDeviceCreateInfo* ci) {
    for (auto* p = static_cast<const VkBaseInStructure*>(ci->pNext); p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO &&
            reinterpret_cast<const VkLayerDeviceCreateInfo*>(p)->function == VK_LAYER_LINK_INFO)
            return const_cast<VkLayerDeviceCreateInfo*>(reinterpret_cast<const VkLayerDeviceCreateInfo*>(p));
    }
    return nullptr;
}

VKAPI_ATTR VkResult VKAPI_CALL CreateInstance(const VkInstanceCreateInfo* pCreateInfo,
                                              const VkAllocationCallbacks* pAllocator, VkInstance* pInstance) {
    VkLayerInstanceCreateInfo* link = FindInstanceLink(pCreateInfo);
    if (!link || !link->u.pLayerInfo) return VK_ERROR_INITIALIZATION_FAILED;
    PFN_vkGetInstanceProcAddr nextGipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
    auto nextCreate = reinterpret_cast<PFN_vkCreateInstance>(nextGipa(VK_NULL_HANDLE, "vkCreateInstance"));
    if (!nextCreate) return VK_ERROR_INITIALIZATION_FAILED;
    link->u.pLayerInfo = link->u.pLayerInfo->pNext;
    VkResult r = nextCreate(pCreateInfo, pAllocator, pInstance);
    if (r != VK_SUCCESS) return r;
    auto data = std::make_unique<InstanceData>();
    data->instance = *pInstance;
    data->nextGipa = nextGipa;
    data->config = Config::FromEnv();
    layer_init_instance_dispatch_table(*pInstance, &data->dispatch, nextGipa);
    std::lock_guard<std::mutex> lock(gMapsMutex);
    gInstances[KeyOf(*pInstance)] = std::move(data);
    return VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL DestroyInstance(VkInstance instance, const VkAllocationCallbacks* pAllocator) {
    if (!instance) return;
    std::unique_ptr<InstanceData> data;
    {
        std::lock_guard<std::mutex> lock(gMapsMutex);
        auto it = gInstances.find(KeyOf(instance));
        if (it == gInstances.end()) return;
        data = std::move(it->second);
        gInstances.erase(it);
    }
    data->dispatch.DestroyInstance(instance, pAllocator);
}

void AddFakeType(const Config& config, VkPhysicalDeviceMemoryProperties& props) {
    if (!config.FakeType() || props.memoryTypeCount == 0 || props.memoryTypeCount >= VK_MAX_MEMORY_TYPES) return;
    VkMemoryType fake = props.memoryTypes[0];
    if (config.fakeDeviceLocal) {
        fake.propertyFlags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    } else {
        fake.propertyFlags |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
        fake.propertyFlags &= ~VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    }
    props.memoryTypes[props.memoryTypeCount++] = fake;
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties(VkPhysicalDevice pd,
                                                             VkPhysicalDeviceMemoryProperties* props) {
    InstanceData* inst = GetInstance(pd);
    inst->dispatch.GetPhysicalDeviceMemoryProperties(pd, props);
    AddFakeType(inst->config, *props);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties2(VkPhysicalDevice pd,
                                                              VkPhysicalDeviceMemoryProperties2* props) {
    InstanceData* inst = GetInstance(pd);
    inst->dispatch.GetPhysicalDeviceMemoryProperties2(pd, props);
    AddFakeType(inst->config, props->memoryProperties);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties2KHR(VkPhysicalDevice pd,
                                                                 VkPhysicalDeviceMemoryProperties2* props) {
    InstanceData* inst = GetInstance(pd);
    inst->dispatch.GetPhysicalDeviceMemoryProperties2KHR(pd, props);
    AddFakeType(inst->config, props->memoryProperties);
}

void AdjustLimits(const InstanceData& inst, VkPhysicalDeviceProperties& props) {
    if (inst.config.maxAllocationCount) {
        props.limits.maxMemoryAllocationCount = static_cast<std::uint32_t>(inst.config.maxAllocationCount);
    }
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceProperties(VkPhysicalDevice pd, VkPhysicalDeviceProperties* props) {
    InstanceData* inst = GetInstance(pd);
    inst->dispatch.GetPhysicalDeviceProperties(pd, props);
    AdjustLimits(*inst, *props);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceProperties2(VkPhysicalDevice pd, VkPhysicalDeviceProperties2* props) {
    InstanceData* inst = GetInstance(pd);
    inst->dispatch.GetPhysicalDeviceProperties2(pd, props);
    AdjustLimits(*inst, props->properties);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceProperties2KHR(VkPhysicalDevice pd, VkPhysicalDeviceProperties2* props) {
    InstanceData* inst = GetInstance(pd);
    inst->dispatch.GetPhysicalDeviceProperties2KHR(pd, props);
    AdjustLimits(*inst, props->properties);
}

VKAPI_ATTR VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice pd, const VkDeviceCreateInfo* pCreateInfo,
                                            const VkAllocationCallbacks* pAllocator, VkDevice* pDevice) {
    InstanceData* inst = GetInstance(pd);
    VkLayerDeviceCreateInfo* link = FindDeviceLink(pCreateInfo);
    if (!inst || !link || !link->u.pLayerInfo) return VK_ERROR_INITIALIZATION_FAILED;
    PFN_vkGetInstanceProcAddr nextGipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
    PFN_vkGetDeviceProcAddr nextGdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
    auto nextCreate = reinterpret_cast<PFN_vkCreateDevice>(nextGipa(inst->instance, "vkCreateDevice"));
    if (!nextCreate) return VK_ERROR_INITIALIZATION_FAILED;
    link->u.pLayerInfo = link->u.pLayerInfo->pNext;
    VkResult r = nextCreate(pd, pCreateInfo, pAllocator, pDevice);
    if (r != VK_SUCCESS) return r;

    auto data = std::make_unique<DeviceData>();
    data->device = *pDevice;
    data->nextGdpa = nextGdpa;
    data->config = Config::FromEnv();
    layer_init_device_dispatch_table(*pDevice, &data->dispatch, nextGdpa);
    VkPhysicalDeviceMemoryProperties real{};
    inst->dispatch.GetPhysicalDeviceMemoryProperties(pd, &real);
    if (data->config.FakeType() && real.memoryTypeCount < VK_MAX_MEMORY_TYPES) {
        data->fakeType = real.memoryTypeCount;
    }
    VkPhysicalDeviceProperties props{};
    inst->dispatch.GetPhysicalDeviceProperties(pd, &props);
    data->atom = props.limits.nonCoherentAtomSize ? props.limits.nonCoherentAtomSize : 1;
    if (!data->config.rangeLog.empty()) data->rangeLog = std::fopen(data->config.rangeLog.c_str(), "a");
    std::lock_guard<std::mutex> lock(gMapsMutex);
    gDevices[KeyOf(*pDevice)] = std::move(data);
    return VK_SUCCESS;
}

// ------------------------------------------------------------------------------------------------
// Device level.

VKAPI_ATTR void VKAPI_CALL DestroyDevice(VkDevice device, const VkAllocationCallbacks* pAllocator) {
    if (!device) return;
    std::unique_ptr<DeviceData> data;
    {
        std::lock_guard<std::mutex> lock(gMapsMutex);
        auto it = gDevices.find(KeyOf(device));
        if (it == gDevices.end()) return;
        data = std::move(it->second);
        gDevices.erase(it);
    }
    char line[256];
    std::snprintf(line, sizeof(line),
                  "VMA_SHIM_REPORT live=%zu allocations=%" PRIu64 " frees=%" PRIu64 " violations=%" PRIu64,
                  data->live.size(), data->allocations, data->frees, data->violations.load());
    std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
    if (!data->config.reportFile.empty()) {
        if (FILE* f = std::fopen(data->config.reportFile.c_str(), "a")) {
            std::fprintf(f, "%s\n", line);
            std::fclose(f);
        }
    }
    if (data->rangeLog) std::fclose(data->rangeLog);
    data->dispatch.DestroyDevice(device, pAllocator);
}

VKAPI_ATTR VkResult VKAPI_CALL AllocateMemory(VkDevice device, const VkMemoryAllocateInfo* pInfo,
                                              const VkAllocationCallbacks* pAllocator, VkDeviceMemory* pMemory) {
    DeviceData& d = *GetDevice(device);
    const Config& c = d.config;
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        const std::uint64_t n = ++d.allocateCalls;
        if (c.failAllocation == n) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        if (c.failAbove && n >= c.failFrom && pInfo->allocationSize > c.failAboveBytes) {
            return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        }
        if (c.maxAllocationCount && d.live.size() + d.pending >= c.maxAllocationCount) {
            Violation(d, "vkAllocateMemory would exceed maxMemoryAllocationCount %" PRIu64 " (%zu live)",
                      c.maxAllocationCount, d.live.size());
            return VK_ERROR_TOO_MANY_OBJECTS;
        }
        ++d.pending;
    }
    VkMemoryAllocateInfo info = *pInfo;
    if (d.fakeType != kNoFakeType && info.memoryTypeIndex == d.fakeType) info.memoryTypeIndex = 0;
    VkResult r = d.dispatch.AllocateMemory(device, &info, pAllocator, pMemory);
    std::lock_guard<std::mutex> lock(d.mutex);
    --d.pending;
    if (r == VK_SUCCESS) {
        MemoryRecord rec;
        rec.size = pInfo->allocationSize;
        rec.appType = pInfo->memoryTypeIndex;
        d.live[H(*pMemory)] = rec;
        ++d.allocations;
    }
    return r;
}

VKAPI_ATTR void VKAPI_CALL FreeMemory(VkDevice device, VkDeviceMemory memory, const VkAllocationCallbacks* pAllocator) {
    DeviceData& d = *GetDevice(device);
    if (memory == VK_NULL_HANDLE) return d.dispatch.FreeMemory(device, memory, pAllocator);
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        if (!CheckLocked(d, "vkFreeMemory", memory)) return;
        d.live.erase(H(memory));
        ++d.frees;
    }
    d.dispatch.FreeMemory(device, memory, pAllocator);
}

VKAPI_ATTR VkResult VKAPI_CALL MapMemory(VkDevice device, VkDeviceMemory memory, VkDeviceSize offset,
                                         VkDeviceSize size, VkMemoryMapFlags flags, void** ppData) {
    DeviceData& d = *GetDevice(device);
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        MemoryRecord* rec = CheckLocked(d, "vkMapMemory", memory);
        if (!rec) return VK_ERROR_MEMORY_MAP_FAILED;
        if (rec->mapped) Violation(d, "vkMapMemory on VkDeviceMemory 0x%" PRIx64 " that is already mapped", H(memory));
        if (++d.mapCalls == d.config.failMap) return VK_ERROR_MEMORY_MAP_FAILED;
    }
    VkResult r = d.dispatch.MapMemory(device, memory, offset, size, flags, ppData);
    if (r != VK_SUCCESS) return r;
    std::lock_guard<std::mutex> lock(d.mutex);
    MemoryRecord* rec = CheckLocked(d, "vkMapMemory", memory);
    if (!rec) return r;
    rec->mapped = true;
    rec->mapOffset = offset;
    rec->mapSize = size == VK_WHOLE_SIZE ? rec->size - offset : size;
    if (d.rangeLog) {
        std::fprintf(d.rangeLog, "map 0x%" PRIx64 " %" PRIu64 " %" PRIu64 " 0x%" PRIxPTR "\n", H(memory), offset,
                     rec->mapSize, reinterpret_cast<std::uintptr_t>(*ppData));
        std::fflush(d.rangeLog);
    }
    return r;
}

VKAPI_ATTR void VKAPI_CALL UnmapMemory(VkDevice device, VkDeviceMemory memory) {
    DeviceData& d = *GetDevice(device);
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        MemoryRecord* rec = CheckLocked(d, "vkUnmapMemory", memory);
        if (!rec) return;
        if (!rec->mapped) Violation(d, "vkUnmapMemory on VkDeviceMemory 0x%" PRIx64 " that is not mapped", H(memory));
        rec->mapped = false;
    }
    d.dispatch.UnmapMemory(device, memory);
}

// VUID-VkMappedMemoryRange-memory-00684, -size-00685, -size-00686, -offset-00687, -size-01389, -size-01390.
bool CheckRanges(DeviceData& d, const char* call, std::uint32_t count, const VkMappedMemoryRange* ranges) {
    std::lock_guard<std::mutex> lock(d.mutex);
    bool handlesOk = true;
    for (std::uint32_t i = 0; i < count; ++i) {
        const VkMappedMemoryRange& r = ranges[i];
        if (d.rangeLog) {
            std::fprintf(d.rangeLog, "%s 0x%" PRIx64 " %" PRIu64 " %" PRId64 "\n",
                         call[2] == 'F' ? "flush" : "invalidate", H(r.memory), r.offset,
                         r.size == VK_WHOLE_SIZE ? std::int64_t(-1) : std::int64_t(r.size));
            std::fflush(d.rangeLog);
        }
        MemoryRecord* rec = CheckLocked(d, call, r.memory);
        if (!rec) {
            handlesOk = false;
            continue;
        }
        const std::uint64_t h = H(r.memory);
        const VkDeviceSize mapEnd = rec->mapOffset + rec->mapSize;
        const char* problem = nullptr;
        if (!rec->mapped) {
            problem = "memory is not mapped (00684)";
        } else if (r.offset % d.atom) {
            problem = "offset is not a multiple of nonCoherentAtomSize (00687)";
        } else if (r.offset >= rec->size) {
            problem = "offset is outside the memory object";
        } else if (r.size == VK_WHOLE_SIZE) {
            if (r.offset < rec->mapOffset || r.offset >= mapEnd) problem = "VK_WHOLE_SIZE range starts outside the mapping (00686)";
            else if (mapEnd % d.atom && mapEnd != rec->size) problem = "VK_WHOLE_SIZE and the mapping ends neither on an atom nor at the end of the object (01389)";
        } else {
            if (r.size > rec->size || r.offset + r.size > rec->size) problem = "range extends beyond the memory object";
            else if (r.offset < rec->mapOffset || r.offset + r.size > mapEnd) problem = "range is not inside the current mapping (00685)";
            else if (r.size % d.atom && r.offset + r.size != rec->size) problem = "size is not a multiple of nonCoherentAtomSize and does not end at the object's end (01390)";
        }
        if (problem) {
            Violation(d, "%s range {0x%" PRIx64 ", offset %" PRIu64 ", size %" PRIu64 "} (object size %" PRIu64
                         ", mapped [%" PRIu64 ", %" PRIu64 ")): %s",
                      call, h, r.offset, r.size, rec->size, rec->mapOffset, mapEnd, problem);
        }
    }
    return handlesOk;
}

VKAPI_ATTR VkResult VKAPI_CALL FlushMappedMemoryRanges(VkDevice device, uint32_t count, const VkMappedMemoryRange* ranges) {
    DeviceData& d = *GetDevice(device);
    if (!CheckRanges(d, "vkFlushMappedMemoryRanges", count, ranges)) return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.FlushMappedMemoryRanges(device, count, ranges);
}

VKAPI_ATTR VkResult VKAPI_CALL InvalidateMappedMemoryRanges(VkDevice device, uint32_t count,
                                                            const VkMappedMemoryRange* ranges) {
    DeviceData& d = *GetDevice(device);
    if (!CheckRanges(d, "vkInvalidateMappedMemoryRanges", count, ranges)) return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.InvalidateMappedMemoryRanges(device, count, ranges);
}

VKAPI_ATTR void VKAPI_CALL GetDeviceMemoryCommitment(VkDevice device, VkDeviceMemory memory, VkDeviceSize* pCommitted) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkGetDeviceMemoryCommitment", memory)) {
        *pCommitted = 0;
        return;
    }
    d.dispatch.GetDeviceMemoryCommitment(device, memory, pCommitted);
}

VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory(VkDevice device, VkBuffer buffer, VkDeviceMemory memory,
                                                VkDeviceSize offset) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkBindBufferMemory", memory)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.BindBufferMemory(device, buffer, memory, offset);
}

VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory(VkDevice device, VkImage image, VkDeviceMemory memory,
                                               VkDeviceSize offset) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkBindImageMemory", memory)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.BindImageMemory(device, image, memory, offset);
}

template <typename Info>
bool CheckBindInfos(DeviceData& d, const char* call, uint32_t count, const Info* infos) {
    std::lock_guard<std::mutex> lock(d.mutex);
    bool ok = true;
    for (uint32_t i = 0; i < count; ++i) {
        // VK_NULL_HANDLE is legal only with VkBindImageMemorySwapchainInfoKHR; the driver judges that.
        if (infos[i].memory != VK_NULL_HANDLE && !CheckLocked(d, call, infos[i].memory)) ok = false;
    }
    return ok;
}

VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory2(VkDevice device, uint32_t count, const VkBindBufferMemoryInfo* infos) {
    DeviceData& d = *GetDevice(device);
    if (!CheckBindInfos(d, "vkBindBufferMemory2", count, infos)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.BindBufferMemory2(device, count, infos);
}

VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory2KHR(VkDevice device, uint32_t count, const VkBindBufferMemoryInfo* infos) {
    DeviceData& d = *GetDevice(device);
    if (!CheckBindInfos(d, "vkBindBufferMemory2KHR", count, infos)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.BindBufferMemory2KHR(device, count, infos);
}

VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory2(VkDevice device, uint32_t count, const VkBindImageMemoryInfo* infos) {
    DeviceData& d = *GetDevice(device);
    if (!CheckBindInfos(d, "vkBindImageMemory2", count, infos)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.BindImageMemory2(device, count, infos);
}

VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory2KHR(VkDevice device, uint32_t count, const VkBindImageMemoryInfo* infos) {
    DeviceData& d = *GetDevice(device);
    if (!CheckBindInfos(d, "vkBindImageMemory2KHR", count, infos)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.BindImageMemory2KHR(device, count, infos);
}

VKAPI_ATTR VkResult VKAPI_CALL QueueBindSparse(VkQueue queue, uint32_t count, const VkBindSparseInfo* infos,
                                               VkFence fence) {
    DeviceData& d = *GetDevice(queue);
    bool ok = true;
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        auto check = [&](VkDeviceMemory m) {
            if (m != VK_NULL_HANDLE && !CheckLocked(d, "vkQueueBindSparse", m)) ok = false;
        };
        for (uint32_t i = 0; i < count; ++i) {
            const VkBindSparseInfo& b = infos[i];
            for (uint32_t j = 0; j < b.bufferBindCount; ++j)
                for (uint32_t k = 0; k < b.pBufferBinds[j].bindCount; ++k) check(b.pBufferBinds[j].pBinds[k].memory);
            for (uint32_t j = 0; j < b.imageOpaqueBindCount; ++j)
                for (uint32_t k = 0; k < b.pImageOpaqueBinds[j].bindCount; ++k)
                    check(b.pImageOpaqueBinds[j].pBinds[k].memory);
            for (uint32_t j = 0; j < b.imageBindCount; ++j)
                for (uint32_t k = 0; k < b.pImageBinds[j].bindCount; ++k) check(b.pImageBinds[j].pBinds[k].memory);
        }
    }
    if (!ok) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return d.dispatch.QueueBindSparse(queue, count, infos, fence);
}

VKAPI_ATTR VkResult VKAPI_CALL GetMemoryFdKHR(VkDevice device, const VkMemoryGetFdInfoKHR* info, int* fd) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkGetMemoryFdKHR", info->memory)) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    return d.dispatch.GetMemoryFdKHR(device, info, fd);
}

VKAPI_ATTR uint64_t VKAPI_CALL GetDeviceMemoryOpaqueCaptureAddress(VkDevice device,
                                                                   const VkDeviceMemoryOpaqueCaptureAddressInfo* info) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkGetDeviceMemoryOpaqueCaptureAddress", info->memory)) return 0;
    return d.dispatch.GetDeviceMemoryOpaqueCaptureAddress(device, info);
}

VKAPI_ATTR uint64_t VKAPI_CALL GetDeviceMemoryOpaqueCaptureAddressKHR(
    VkDevice device, const VkDeviceMemoryOpaqueCaptureAddressInfo* info) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkGetDeviceMemoryOpaqueCaptureAddressKHR", info->memory)) return 0;
    return d.dispatch.GetDeviceMemoryOpaqueCaptureAddressKHR(device, info);
}

VKAPI_ATTR void VKAPI_CALL SetDeviceMemoryPriorityEXT(VkDevice device, VkDeviceMemory memory, float priority) {
    DeviceData& d = *GetDevice(device);
    if (!Check(d, "vkSetDeviceMemoryPriorityEXT", memory)) return;
    d.dispatch.SetDeviceMemoryPriorityEXT(device, memory, priority);
}

VKAPI_ATTR VkResult VKAPI_CALL SetDebugUtilsObjectNameEXT(VkDevice device, const VkDebugUtilsObjectNameInfoEXT* info) {
    DeviceData& d = *GetDevice(device);
    if (info->objectType == VK_OBJECT_TYPE_DEVICE_MEMORY &&
        !Check(d, "vkSetDebugUtilsObjectNameEXT", reinterpret_cast<VkDeviceMemory>(info->objectHandle)))
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.SetDebugUtilsObjectNameEXT(device, info);
}

VKAPI_ATTR VkResult VKAPI_CALL SetDebugUtilsObjectTagEXT(VkDevice device, const VkDebugUtilsObjectTagInfoEXT* info) {
    DeviceData& d = *GetDevice(device);
    if (info->objectType == VK_OBJECT_TYPE_DEVICE_MEMORY &&
        !Check(d, "vkSetDebugUtilsObjectTagEXT", reinterpret_cast<VkDeviceMemory>(info->objectHandle)))
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.SetDebugUtilsObjectTagEXT(device, info);
}

VKAPI_ATTR VkResult VKAPI_CALL DebugMarkerSetObjectNameEXT(VkDevice device, const VkDebugMarkerObjectNameInfoEXT* info) {
    DeviceData& d = *GetDevice(device);
    if (info->objectType == VK_DEBUG_REPORT_OBJECT_TYPE_DEVICE_MEMORY_EXT &&
        !Check(d, "vkDebugMarkerSetObjectNameEXT", reinterpret_cast<VkDeviceMemory>(info->object)))
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.DebugMarkerSetObjectNameEXT(device, info);
}

VKAPI_ATTR VkResult VKAPI_CALL DebugMarkerSetObjectTagEXT(VkDevice device, const VkDebugMarkerObjectTagInfoEXT* info) {
    DeviceData& d = *GetDevice(device);
    if (info->objectType == VK_DEBUG_REPORT_OBJECT_TYPE_DEVICE_MEMORY_EXT &&
        !Check(d, "vkDebugMarkerSetObjectTagEXT", reinterpret_cast<VkDeviceMemory>(info->object)))
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.DebugMarkerSetObjectTagEXT(device, info);
}

VKAPI_ATTR VkResult VKAPI_CALL SetPrivateData(VkDevice device, VkObjectType type, uint64_t handle,
                                              VkPrivateDataSlot slot, uint64_t data) {
    DeviceData& d = *GetDevice(device);
    if (type == VK_OBJECT_TYPE_DEVICE_MEMORY && !Check(d, "vkSetPrivateData", reinterpret_cast<VkDeviceMemory>(handle)))
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.SetPrivateData(device, type, handle, slot, data);
}

VKAPI_ATTR VkResult VKAPI_CALL SetPrivateDataEXT(VkDevice device, VkObjectType type, uint64_t handle,
                                                 VkPrivateDataSlot slot, uint64_t data) {
    DeviceData& d = *GetDevice(device);
    if (type == VK_OBJECT_TYPE_DEVICE_MEMORY &&
        !Check(d, "vkSetPrivateDataEXT", reinterpret_cast<VkDeviceMemory>(handle)))
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    return d.dispatch.SetPrivateDataEXT(device, type, handle, slot, data);
}

VKAPI_ATTR void VKAPI_CALL GetPrivateData(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot,
                                          uint64_t* data) {
    DeviceData& d = *GetDevice(device);
    if (type == VK_OBJECT_TYPE_DEVICE_MEMORY && !Check(d, "vkGetPrivateData", reinterpret_cast<VkDeviceMemory>(handle))) {
        *data = 0;
        return;
    }
    d.dispatch.GetPrivateData(device, type, handle, slot, data);
}

VKAPI_ATTR void VKAPI_CALL GetPrivateDataEXT(VkDevice device, VkObjectType type, uint64_t handle,
                                             VkPrivateDataSlot slot, uint64_t* data) {
    DeviceData& d = *GetDevice(device);
    if (type == VK_OBJECT_TYPE_DEVICE_MEMORY &&
        !Check(d, "vkGetPrivateDataEXT", reinterpret_cast<VkDeviceMemory>(handle))) {
        *data = 0;
        return;
    }
    d.dispatch.GetPrivateDataEXT(device, type, handle, slot, data);
}

// Memory requirements: resources that may live in type 0 may also live in the fake type;
// alignment raised to VMA_SHIM_MIN_ALIGNMENT.
void AddFakeBit(const DeviceData& d, VkMemoryRequirements& req) {
    if (d.fakeType != kNoFakeType && (req.memoryTypeBits & 1u)) req.memoryTypeBits |= 1u << d.fakeType;
    if (req.alignment < d.config.minAlignment) {
        req.alignment = d.config.minAlignment;
        req.size = (req.size + req.alignment - 1) / req.alignment * req.alignment;
    }
}

VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements(VkDevice device, VkBuffer buffer, VkMemoryRequirements* req) {
    DeviceData& d = *GetDevice(device);
    d.dispatch.GetBufferMemoryRequirements(device, buffer, req);
    AddFakeBit(d, *req);
}

VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements(VkDevice device, VkImage image, VkMemoryRequirements* req) {
    DeviceData& d = *GetDevice(device);
    d.dispatch.GetImageMemoryRequirements(device, image, req);
    AddFakeBit(d, *req);
}

#define SHIM_REQ2(Name, InfoType)                                                                  \
    VKAPI_ATTR void VKAPI_CALL Name(VkDevice device, const InfoType* info, VkMemoryRequirements2* req) { \
        DeviceData& d = *GetDevice(device);                                                        \
        d.dispatch.Name(device, info, req);                                                        \
        AddFakeBit(d, req->memoryRequirements);                                                    \
    }
SHIM_REQ2(GetBufferMemoryRequirements2, VkBufferMemoryRequirementsInfo2)
SHIM_REQ2(GetBufferMemoryRequirements2KHR, VkBufferMemoryRequirementsInfo2)
SHIM_REQ2(GetImageMemoryRequirements2, VkImageMemoryRequirementsInfo2)
SHIM_REQ2(GetImageMemoryRequirements2KHR, VkImageMemoryRequirementsInfo2)
SHIM_REQ2(GetDeviceBufferMemoryRequirements, VkDeviceBufferMemoryRequirements)
SHIM_REQ2(GetDeviceBufferMemoryRequirementsKHR, VkDeviceBufferMemoryRequirements)
SHIM_REQ2(GetDeviceImageMemoryRequirements, VkDeviceImageMemoryRequirements)
SHIM_REQ2(GetDeviceImageMemoryRequirementsKHR, VkDeviceImageMemoryRequirements)
#undef SHIM_REQ2

// ------------------------------------------------------------------------------------------------
// Hook tables.

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* pName);
VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetInstanceProcAddr(VkInstance instance, const char* pName);

struct Hook {
    const char* name;
    PFN_vkVoidFunction fn;
};
#define HOOK(fn) {"vk" #fn, reinterpret_cast<PFN_vkVoidFunction>(fn)}

const Hook kInstanceHooks[] = {
    HOOK(CreateInstance),
    HOOK(DestroyInstance),
    HOOK(CreateDevice),
    HOOK(GetPhysicalDeviceMemoryProperties),
    HOOK(GetPhysicalDeviceMemoryProperties2),
    HOOK(GetPhysicalDeviceMemoryProperties2KHR),
    HOOK(GetPhysicalDeviceProperties),
    HOOK(GetPhysicalDeviceProperties2),
    HOOK(GetPhysicalDeviceProperties2KHR),
};

const Hook kDeviceHooks[] = {
    HOOK(GetDeviceProcAddr),
    HOOK(DestroyDevice),
    HOOK(AllocateMemory),
    HOOK(FreeMemory),
    HOOK(MapMemory),
    HOOK(UnmapMemory),
    HOOK(FlushMappedMemoryRanges),
    HOOK(InvalidateMappedMemoryRanges),
    HOOK(GetDeviceMemoryCommitment),
    HOOK(BindBufferMemory),
    HOOK(BindImageMemory),
    HOOK(BindBufferMemory2),
    HOOK(BindBufferMemory2KHR),
    HOOK(BindImageMemory2),
    HOOK(BindImageMemory2KHR),
    HOOK(QueueBindSparse),
    HOOK(GetMemoryFdKHR),
    HOOK(GetDeviceMemoryOpaqueCaptureAddress),
    HOOK(GetDeviceMemoryOpaqueCaptureAddressKHR),
    HOOK(SetDeviceMemoryPriorityEXT),
    HOOK(SetDebugUtilsObjectNameEXT),
    HOOK(SetDebugUtilsObjectTagEXT),
    HOOK(DebugMarkerSetObjectNameEXT),
    HOOK(DebugMarkerSetObjectTagEXT),
    HOOK(SetPrivateData),
    HOOK(SetPrivateDataEXT),
    HOOK(GetPrivateData),
    HOOK(GetPrivateDataEXT),
    HOOK(GetBufferMemoryRequirements),
    HOOK(GetImageMemoryRequirements),
    HOOK(GetBufferMemoryRequirements2),
    HOOK(GetBufferMemoryRequirements2KHR),
    HOOK(GetImageMemoryRequirements2),
    HOOK(GetImageMemoryRequirements2KHR),
    HOOK(GetDeviceBufferMemoryRequirements),
    HOOK(GetDeviceBufferMemoryRequirementsKHR),
    HOOK(GetDeviceImageMemoryRequirements),
    HOOK(GetDeviceImageMemoryRequirementsKHR),
};
#undef HOOK

template <std::size_t N>
PFN_vkVoidFunction Find(const Hook (&hooks)[N], const char* name) {
    for (const Hook& h : hooks) {
        if (std::strcmp(h.name, name) == 0) return h.fn;
    }
    return nullptr;
}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* pName) {
    if (!pName || !device) return nullptr;
    DeviceData* d = GetDevice(device);
    if (!d) return nullptr;
    PFN_vkVoidFunction next = d->nextGdpa(device, pName);
    if (!next) return nullptr;  // not supported/enabled below: stays NULL (LLP_LAYER_18)
    if (PFN_vkVoidFunction hook = Find(kDeviceHooks, pName)) return hook;
    return next;
}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetInstanceProcAddr(VkInstance instance, const char* pName) {
    if (!pName) return nullptr;
    if (std::strcmp(pName, "vkCreateInstance") == 0) return reinterpret_cast<PFN_vkVoidFunction>(CreateInstance);
    if (std::strcmp(pName, "vkGetInstanceProcAddr") == 0)
        return reinterpret_cast<PFN_vkVoidFunction>(GetInstanceProcAddr);
    if (std::strcmp(pName, "vkGetDeviceProcAddr") == 0) return reinterpret_cast<PFN_vkVoidFunction>(GetDeviceProcAddr);
    InstanceData* inst = instance ? GetInstance(instance) : nullptr;
    if (!inst) return nullptr;
    PFN_vkVoidFunction next = inst->nextGipa(instance, pName);
    if (!next) return nullptr;
    if (PFN_vkVoidFunction hook = Find(kInstanceHooks, pName)) return hook;
    if (PFN_vkVoidFunction hook = Find(kDeviceHooks, pName)) return hook;
    return next;
}

}  // namespace
}  // namespace shim

extern "C" {

__attribute__((visibility("default"))) VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface* pVersionStruct) {
    if (!pVersionStruct || pVersionStruct->sType != LAYER_NEGOTIATE_INTERFACE_STRUCT) {
        return VK_ERROR_INITIALIZATION_FAILED;
    }
    if (pVersionStruct->loaderLayerInterfaceVersion < 2) return VK_ERROR_INITIALIZATION_FAILED;
    pVersionStruct->loaderLayerInterfaceVersion = 2;
    pVersionStruct->pfnGetInstanceProcAddr = shim::GetInstanceProcAddr;
    pVersionStruct->pfnGetDeviceProcAddr = shim::GetDeviceProcAddr;
    pVersionStruct->pfnGetPhysicalDeviceProcAddr = nullptr;
    return VK_SUCCESS;
}

__attribute__((visibility("default"))) VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL
vkGetInstanceProcAddr(VkInstance instance, const char* pName) {
    return shim::GetInstanceProcAddr(instance, pName);
}

__attribute__((visibility("default"))) VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL
vkGetDeviceProcAddr(VkDevice device, const char* pName) {
    return shim::GetDeviceProcAddr(device, pName);
}

}  // extern "C"
