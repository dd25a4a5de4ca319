// What the app learns about memory: the API version and limits it is told, and the memory
// requirements it asks for (observed to set each type's slice alignment and to check binds).
#include <algorithm>

#include "intercepts.h"
#include "layer.h"
#include "memory.h"

namespace vma::layer {
namespace {

// The highest core version whose memory commands the layer translates. 1.4 adds vkMapMemory2 and
// vkUnmapMemory2 (hooked under their core names) and VkBindMemoryStatus (a bind pNext the layer
// passes on, so the driver writes each result); nothing newer is known to this build.
constexpr std::uint32_t kMaxApiVersion = VK_API_VERSION_1_4;

void AdjustProperties(InstanceData& inst, VkPhysicalDeviceProperties& props) {
    if (inst.settings.passThroughAll) return;
    if (VK_API_VERSION_MAJOR(props.apiVersion) > 1 || VK_API_VERSION_MINOR(props.apiVersion) > 4) {
        props.apiVersion = kMaxApiVersion;
    }
    // Pooled allocations do not count against the driver's limit (§4.8); advertise a raised limit
    // only when asked to, since layers above (validation) enforce whatever we report.
    if (inst.settings.maxAllocationCount) props.limits.maxMemoryAllocationCount = inst.settings.maxAllocationCount;
}

void Observe(VkDevice device, std::uint64_t resource, bool image, const VkMemoryRequirements& req) {
    GetDeviceData(device)->memory->ObserveRequirements(resource, image, req);
}

bool UseKhr(VkDevice device, std::uint32_t coreVersion) { return GetDeviceData(device)->apiVersion < coreVersion; }

}  // namespace

void GetPhysicalDeviceProperties(VkPhysicalDevice physicalDevice, VkPhysicalDeviceProperties* pProperties) {
    InstanceData* inst = GetInstanceDataForPhysicalDevice(physicalDevice);
    inst->dispatch.GetPhysicalDeviceProperties(physicalDevice, pProperties);
    AdjustProperties(*inst, *pProperties);
}

void GetPhysicalDeviceProperties2(VkPhysicalDevice physicalDevice, VkPhysicalDeviceProperties2* pProperties) {
    InstanceData* inst = GetInstanceDataForPhysicalDevice(physicalDevice);
    inst->dispatch.GetPhysicalDeviceProperties2(physicalDevice, pProperties);
    AdjustProperties(*inst, pProperties->properties);
}

void GetPhysicalDeviceProperties2KHR(VkPhysicalDevice physicalDevice, VkPhysicalDeviceProperties2* pProperties) {
    InstanceData* inst = GetInstanceDataForPhysicalDevice(physicalDevice);
    inst->dispatch.GetPhysicalDeviceProperties2KHR(physicalDevice, pProperties);
    AdjustProperties(*inst, pProperties->properties);
}

void GetBufferMemoryRequirements(VkDevice device, VkBuffer buffer, VkMemoryRequirements* req) {
    GetDeviceData(device)->dispatch.GetBufferMemoryRequirements(device, buffer, req);
    Observe(device, reinterpret_cast<std::uint64_t>(buffer), false, *req);
}

void GetImageMemoryRequirements(VkDevice device, VkImage image, VkMemoryRequirements* req) {
    GetDeviceData(device)->dispatch.GetImageMemoryRequirements(device, image, req);
    Observe(device, reinterpret_cast<std::uint64_t>(image), true, *req);
}

void GetBufferMemoryRequirements2(VkDevice device, const VkBufferMemoryRequirementsInfo2* info,
                                  VkMemoryRequirements2* req) {
    DeviceData* d = GetDeviceData(device);
    if (UseKhr(device, VK_API_VERSION_1_1)) {
        d->dispatch.GetBufferMemoryRequirements2KHR(device, info, req);
    } else {
        d->dispatch.GetBufferMemoryRequirements2(device, info, req);
    }
    Observe(device, reinterpret_cast<std::uint64_t>(info->buffer), false, req->memoryRequirements);
}

void GetBufferMemoryRequirements2KHR(VkDevice device, const VkBufferMemoryRequirementsInfo2* info,
                                     VkMemoryRequirements2* req) {
    GetBufferMemoryRequirements2(device, info, req);
}

void GetImageMemoryRequirements2(VkDevice device, const VkImageMemoryRequirementsInfo2* info,
                                 VkMemoryRequirements2* req) {
    DeviceData* d = GetDeviceData(device);
    if (UseKhr(device, VK_API_VERSION_1_1)) {
        d->dispatch.GetImageMemoryRequirements2KHR(device, info, req);
    } else {
        d->dispatch.GetImageMemoryRequirements2(device, info, req);
    }
    // Disjoint plane queries (VkImagePlaneMemoryRequirementsInfo) describe one plane only; their
    // alignment still matters for the floor, but they are not the image's bind requirements.
    const bool plane = FindInChain<VkImagePlaneMemoryRequirementsInfo>(
                           info->pNext, VK_STRUCTURE_TYPE_IMAGE_PLANE_MEMORY_REQUIREMENTS_INFO) != nullptr;
    Observe(device, plane ? 0 : reinterpret_cast<std::uint64_t>(info->image), true, req->memoryRequirements);
}

void GetImageMemoryRequirements2KHR(VkDevice device, const VkImageMemoryRequirementsInfo2* info,
                                    VkMemoryRequirements2* req) {
    GetImageMemoryRequirements2(device, info, req);
}

void GetDeviceBufferMemoryRequirements(VkDevice device, const VkDeviceBufferMemoryRequirements* info,
                                       VkMemoryRequirements2* req) {
    DeviceData* d = GetDeviceData(device);
    if (UseKhr(device, VK_API_VERSION_1_3)) {
        d->dispatch.GetDeviceBufferMemoryRequirementsKHR(device, info, req);
    } else {
        d->dispatch.GetDeviceBufferMemoryRequirements(device, info, req);
    }
    Observe(device, 0, false, req->memoryRequirements);
}

void GetDeviceBufferMemoryRequirementsKHR(VkDevice device, const VkDeviceBufferMemoryRequirements* info,
                                          VkMemoryRequirements2* req) {
    GetDeviceBufferMemoryRequirements(device, info, req);
}

void GetDeviceImageMemoryRequirements(VkDevice device, const VkDeviceImageMemoryRequirements* info,
                                      VkMemoryRequirements2* req) {
    DeviceData* d = GetDeviceData(device);
    if (UseKhr(device, VK_API_VERSION_1_3)) {
        d->dispatch.GetDeviceImageMemoryRequirementsKHR(device, info, req);
    } else {
        d->dispatch.GetDeviceImageMemoryRequirements(device, info, req);
    }
    Observe(device, 0, true, req->memoryRequirements);
}

void GetDeviceImageMemoryRequirementsKHR(VkDevice device, const VkDeviceImageMemoryRequirements* info,
                                         VkMemoryRequirements2* req) {
    GetDeviceImageMemoryRequirements(device, info, req);
}

void GetAccelerationStructureMemoryRequirementsNV(VkDevice device,
                                                  const VkAccelerationStructureMemoryRequirementsInfoNV* info,
                                                  VkMemoryRequirements2KHR* req) {
    GetDeviceData(device)->dispatch.GetAccelerationStructureMemoryRequirementsNV(device, info, req);
    Observe(device, 0, false, req->memoryRequirements);
}

VkResult GetVideoSessionMemoryRequirementsKHR(VkDevice device, VkVideoSessionKHR session, uint32_t* count,
                                              VkVideoSessionMemoryRequirementsKHR* reqs) {
    VkResult r = GetDeviceData(device)->dispatch.GetVideoSessionMemoryRequirementsKHR(device, session, count, reqs);
    if (reqs && (r == VK_SUCCESS || r == VK_INCOMPLETE)) {
        for (uint32_t i = 0; i < *count; ++i) Observe(device, 0, false, reqs[i].memoryRequirements);
    }
    return r;
}

// Buffers and images as the app creates them: their kind and usage go in the record that later
// holds their requirements, so the bind that files them in the state map does one lookup.
namespace {

std::uint64_t BufferUsage(const VkBufferCreateInfo& info) {
    // VK_KHR_maintenance5: VkBufferUsageFlags2CreateInfoKHR replaces usage with 64-bit flags
    // (the 1.3.239 headers lack the struct: sType and layout restated).
    struct BufferUsageFlags2 {
        VkStructureType sType;
        const void* pNext;
        std::uint64_t usage;
    };
    const auto* usage2 = FindInChain<BufferUsageFlags2>(info.pNext, static_cast<VkStructureType>(1000470006));
    return usage2 ? usage2->usage : info.usage;
}

std::uint8_t ImageKind(VkImageTiling tiling) {
    if (tiling == VK_IMAGE_TILING_OPTIMAL) return kResourceImageOptimal;
    if (tiling == VK_IMAGE_TILING_LINEAR) return kResourceImageLinear;
    return kResourceImageUnknown;  // DRM format modifier
}

}  // namespace

VkResult CreateBuffer(VkDevice device, const VkBufferCreateInfo* pCreateInfo, const VkAllocationCallbacks* pAllocator,
                      VkBuffer* pBuffer) {
    DeviceData* d = GetDeviceData(device);
    const VkResult r = d->dispatch.CreateBuffer(device, pCreateInfo, pAllocator, pBuffer);
    if (r == VK_SUCCESS) {
        d->memory->ObserveResource(reinterpret_cast<std::uint64_t>(*pBuffer), false, kResourceBuffer,
                                   BufferUsage(*pCreateInfo));
    }
    return r;
}

VkResult CreateImage(VkDevice device, const VkImageCreateInfo* pCreateInfo, const VkAllocationCallbacks* pAllocator,
                     VkImage* pImage) {
    DeviceData* d = GetDeviceData(device);
    const VkResult r = d->dispatch.CreateImage(device, pCreateInfo, pAllocator, pImage);
    if (r == VK_SUCCESS) {
        d->memory->ObserveResource(reinterpret_cast<std::uint64_t>(*pImage), true, ImageKind(pCreateInfo->tiling),
                                   pCreateInfo->usage);
    }
    return r;
}

void DestroyBuffer(VkDevice device, VkBuffer buffer, const VkAllocationCallbacks* pAllocator) {
    DeviceData* d = GetDeviceData(device);
    if (buffer) d->memory->ForgetResource(reinterpret_cast<std::uint64_t>(buffer), false);
    d->dispatch.DestroyBuffer(device, buffer, pAllocator);
}

void DestroyImage(VkDevice device, VkImage image, const VkAllocationCallbacks* pAllocator) {
    DeviceData* d = GetDeviceData(device);
    if (image) d->memory->ForgetResource(reinterpret_cast<std::uint64_t>(image), true);
    d->dispatch.DestroyImage(device, image, pAllocator);
}

}  // namespace vma::layer
