// Device lifecycle: chain walking, dispatch table, the facts the memory code needs, the
// device-extension filter, and the destroy-time summary.
#include <cstring>
#include <sstream>

#include "corruption.h"
#include "dump.h"
#include "extensions.h"
#include "intercepts.h"
#include "layer.h"
#include "memory.h"

#include <vulkan/vk_dispatch_table_helper.h>

namespace vma::layer {
namespace {

VkLayerDeviceCreateInfo* FindLayerLink(const VkDeviceCreateInfo* createInfo) {
    for (auto* p = static_cast<const VkBaseInStructure*>(createInfo->pNext); p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO) {
            auto* info = const_cast<VkLayerDeviceCreateInfo*>(reinterpret_cast<const VkLayerDeviceCreateInfo*>(p));
            if (info->function == VK_LAYER_LINK_INFO) return info;
        }
    }
    return nullptr;
}

// bufferDeviceAddress may be enabled through VkPhysicalDeviceBufferDeviceAddressFeatures,
// VkPhysicalDeviceVulkan12Features or the EXT struct.
PFN_vkSetDeviceLoaderData FindSetLoaderData(const VkDeviceCreateInfo* createInfo) {
    for (auto* p = static_cast<const VkBaseInStructure*>(createInfo->pNext); p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO) {
            auto* info = reinterpret_cast<const VkLayerDeviceCreateInfo*>(p);
            if (info->function == VK_LOADER_DATA_CALLBACK) return info->u.pfnSetDeviceLoaderData;
        }
    }
    return nullptr;
}

bool BufferDeviceAddressEnabled(const VkDeviceCreateInfo* createInfo) {
    for (auto* p = static_cast<const VkBaseInStructure*>(createInfo->pNext); p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES &&
            reinterpret_cast<const VkPhysicalDeviceBufferDeviceAddressFeatures*>(p)->bufferDeviceAddress)
            return true;
        if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES &&
            reinterpret_cast<const VkPhysicalDeviceVulkan12Features*>(p)->bufferDeviceAddress)
            return true;
    }
    return false;
}

std::string FormatBytes(std::uint64_t bytes) {
    std::ostringstream o;
    o.precision(1);
    o << std::fixed;
    if (bytes >= (1ull << 30)) o << double(bytes) / double(1ull << 30) << " GiB";
    else if (bytes >= (1ull << 20)) o << double(bytes) / double(1ull << 20) << " MiB";
    else if (bytes >= (1ull << 10)) o << double(bytes) / double(1ull << 10) << " KiB";
    else o << bytes << " B";
    return o.str();
}

}  // namespace

std::string SummaryLine(const DeviceData& d) {
    const MemoryCounters& c = d.counters;
    std::ostringstream o;
    o << "summary: app allocations " << c.appAllocations.load() << ", driver allocations "
      << c.driverAllocations.load() << " (peak live " << c.peakDriverObjects.load() << ")";
    for (std::uint32_t h = 0; h < d.memoryProperties.memoryHeapCount; ++h) {
        if (c.peakAppBytes[h] == 0 && c.peakDriverBytes[h] == 0) continue;
        o << "; heap " << h << " peak app " << FormatBytes(c.peakAppBytes[h]) << " / driver "
          << FormatBytes(c.peakDriverBytes[h]);
    }
    return o.str();
}

VkResult EnumerateDeviceExtensionProperties(VkPhysicalDevice physicalDevice, const char* pLayerName,
                                            std::uint32_t* pCount, VkExtensionProperties* pProperties) {
    // LLP_LAYER_16: our own name → our (no) device extensions; otherwise chain down, filtered.
    if (pLayerName && std::strcmp(pLayerName, kLayerName) == 0) {
        *pCount = 0;
        return VK_SUCCESS;
    }
    InstanceData* inst = GetInstanceDataForPhysicalDevice(physicalDevice);
    std::uint32_t count = 0;
    VkResult r = inst->dispatch.EnumerateDeviceExtensionProperties(physicalDevice, pLayerName, &count, nullptr);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return r;
    std::vector<VkExtensionProperties> all(count);
    r = inst->dispatch.EnumerateDeviceExtensionProperties(physicalDevice, pLayerName, &count, all.data());
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return r;
    all.resize(count);
    std::vector<VkExtensionProperties> shown;
    shown.reserve(all.size());
    for (const auto& e : all) {
        if (inst->settings.passThroughAll || IsDeviceExtensionAllowed(e.extensionName)) shown.push_back(e);
    }
    if (!pProperties) {
        *pCount = static_cast<std::uint32_t>(shown.size());
        return VK_SUCCESS;
    }
    const std::uint32_t n = std::min<std::uint32_t>(*pCount, static_cast<std::uint32_t>(shown.size()));
    std::memcpy(pProperties, shown.data(), n * sizeof(VkExtensionProperties));
    *pCount = n;
    return n < shown.size() ? VK_INCOMPLETE : VK_SUCCESS;
}

VkResult CreateDevice(VkPhysicalDevice physicalDevice, const VkDeviceCreateInfo* pCreateInfo,
                      const VkAllocationCallbacks* pAllocator, VkDevice* pDevice) {
    InstanceData* inst = GetInstanceDataForPhysicalDevice(physicalDevice);
    VkLayerDeviceCreateInfo* link = FindLayerLink(pCreateInfo);
    if (!inst || !link || !link->u.pLayerInfo) return VK_ERROR_INITIALIZATION_FAILED;

    // An extension we hide carries VkDeviceMemory in a way the layer does not translate: letting
    // it through would hand virtual handles to the driver (LLI "Cautions About Wrapping").
    if (!inst->settings.passThroughAll) {
        for (std::uint32_t i = 0; i < pCreateInfo->enabledExtensionCount; ++i) {
            const char* name = pCreateInfo->ppEnabledExtensionNames[i];
            if (!IsDeviceExtensionAllowed(name)) {
                inst->reporter->Report(Severity::kError, "VMA-extension-hidden",
                                       std::string("vkCreateDevice: extension ") + name +
                                           " is not supported through VK_LAYER_VMA_suballocator (it carries "
                                           "VkDeviceMemory in calls the layer does not translate)");
                return VK_ERROR_EXTENSION_NOT_PRESENT;
            }
        }
    }

    PFN_vkGetInstanceProcAddr nextGipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
    PFN_vkGetDeviceProcAddr nextGdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
    auto nextCreate = reinterpret_cast<PFN_vkCreateDevice>(nextGipa(inst->instance, "vkCreateDevice"));
    if (!nextCreate) return VK_ERROR_INITIALIZATION_FAILED;

    HostAllocator allocator = inst->allocator;
    if (pAllocator) {
        allocator.callbacks = *pAllocator;
        allocator.present = true;
    }
    DevicePtr data = MakeHostObject<DeviceData>(allocator, VK_SYSTEM_ALLOCATION_SCOPE_DEVICE);
    if (!data) return VK_ERROR_OUT_OF_HOST_MEMORY;
    data->allocator = allocator;

    // detect_corruption / fill_allocations on memory the host cannot map need a queue: one more
    // in the create info when a family has one to spare.
    LayerQueuePlan queuePlan;
    PlanLayerQueue(*inst, physicalDevice, *pCreateInfo, &queuePlan);
    link->u.pLayerInfo = link->u.pLayerInfo->pNext;
    VkResult result = nextCreate(physicalDevice, &queuePlan.createInfo, pAllocator, pDevice);
    if (result != VK_SUCCESS) return result;

    data->device = *pDevice;
    data->physicalDevice = physicalDevice;
    data->instance = inst;
    layer_init_device_dispatch_table(*pDevice, &data->dispatch, nextGdpa);
    for (std::uint32_t i = 0; i < pCreateInfo->enabledExtensionCount; ++i) {
        data->enabledExtensions.insert(pCreateInfo->ppEnabledExtensionNames[i]);
    }
    VkPhysicalDeviceProperties props{};
    inst->dispatch.GetPhysicalDeviceProperties(physicalDevice, &props);
    data->apiVersion = std::min(inst->apiVersion, props.apiVersion);
    data->limits = props.limits;
    inst->dispatch.GetPhysicalDeviceMemoryProperties(physicalDevice, &data->memoryProperties);
    data->bufferDeviceAddress = BufferDeviceAddressEnabled(pCreateInfo);
    data->memoryPriority = data->HasExtension(VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
    {
        // The budget query is a physical-device query: it needs the extension supported, not enabled.
        std::uint32_t count = 0;
        inst->dispatch.EnumerateDeviceExtensionProperties(physicalDevice, nullptr, &count, nullptr);
        std::vector<VkExtensionProperties> exts(count);
        inst->dispatch.EnumerateDeviceExtensionProperties(physicalDevice, nullptr, &count, exts.data());
        for (const auto& e : exts) {
            if (std::strcmp(e.extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0) data->memoryBudget = true;
        }
        data->memoryBudget = data->memoryBudget && inst->dispatch.GetPhysicalDeviceMemoryProperties2 &&
                             inst->apiVersion >= VK_API_VERSION_1_1;
    }
    data->guard = CorruptionGuard::Create(*data, queuePlan, FindSetLoaderData(pCreateInfo));
    data->memory = std::make_unique<MemoryManager>(*data);

    inst->reporter->Report(Severity::kDebug, "VMA-device", "device created");
    // Register before returning: the loader immediately builds its table through our GDPA.
    StoreDeviceData(GetDispatchKey(*pDevice), std::move(data));
    return VK_SUCCESS;
}

void DestroyDevice(VkDevice device, const VkAllocationCallbacks* pAllocator) {
    if (!device) return;
    DevicePtr data = TakeDeviceData(GetDispatchKey(device));
    if (!data) return;
    if (data->guard) data->guard->CheckAll("at vkDestroyDevice");
    DumpIfRequested(*data, DumpTrigger::kDestroy);  // before anything is freed
    // Frees every block (and reports allocations the app leaked) before the device goes away.
    data->memory->Shutdown();
    data->reporter().Report(Severity::kInfo, "VMA-summary", SummaryLine(*data));
    data->memory.reset();
    data->guard.reset();  // after the blocks: their transfer buffers go with them
    data->dispatch.DestroyDevice(device, pAllocator);
    data->reporter().Flush();
}

}  // namespace vma::layer
