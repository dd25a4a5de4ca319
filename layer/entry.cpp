// Loader entry points and the hook tables: everything this layer intercepts is listed at the
// bottom of this file (kInstanceFunctions, kDeviceFunctions).
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "intercepts.h"
#include "layer.h"

namespace vma::layer {
namespace {

using FunctionMap = std::unordered_map<std::string_view, PFN_vkVoidFunction>;

#define ADD_HOOK(fn) {"vk" #fn, reinterpret_cast<PFN_vkVoidFunction>(fn)}
#define ADD_HOOK_ALIAS(fn, alias) {"vk" #alias, reinterpret_cast<PFN_vkVoidFunction>(fn)}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* pName);
VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetInstanceProcAddr(VkInstance instance, const char* pName);

const FunctionMap& InstanceFunctions() {
    static const FunctionMap kInstanceFunctions = {
        ADD_HOOK(GetInstanceProcAddr),
        ADD_HOOK(CreateInstance),
        ADD_HOOK(DestroyInstance),
        ADD_HOOK(EnumerateInstanceLayerProperties),
        ADD_HOOK(EnumerateInstanceExtensionProperties),
        ADD_HOOK(EnumerateDeviceLayerProperties),
        ADD_HOOK(EnumerateDeviceExtensionProperties),
        ADD_HOOK(CreateDevice),
        ADD_HOOK(GetPhysicalDeviceProperties),
        ADD_HOOK(GetPhysicalDeviceProperties2),
        ADD_HOOK(GetPhysicalDeviceProperties2KHR),
        ADD_HOOK(CreateDebugUtilsMessengerEXT),
        ADD_HOOK(DestroyDebugUtilsMessengerEXT),
    };
    return kInstanceFunctions;
}

const FunctionMap& DeviceFunctions() {
    static const FunctionMap kDeviceFunctions = {
        // Returned for itself, as the loader rules ask (Android calls back through it).
        ADD_HOOK(GetDeviceProcAddr),
        ADD_HOOK(DestroyDevice),
        // memory.cpp
        ADD_HOOK(AllocateMemory),
        ADD_HOOK(FreeMemory),
        ADD_HOOK(MapMemory),
        ADD_HOOK(UnmapMemory),
        ADD_HOOK(MapMemory2KHR),
        ADD_HOOK(UnmapMemory2KHR),
        ADD_HOOK(MapMemory2),
        ADD_HOOK(UnmapMemory2),
        ADD_HOOK(FlushMappedMemoryRanges),
        ADD_HOOK(InvalidateMappedMemoryRanges),
        ADD_HOOK(GetDeviceMemoryCommitment),
        ADD_HOOK(GetDeviceMemoryOpaqueCaptureAddress),
        ADD_HOOK_ALIAS(GetDeviceMemoryOpaqueCaptureAddress, GetDeviceMemoryOpaqueCaptureAddressKHR),
        ADD_HOOK(GetMemoryFdKHR),
        ADD_HOOK(SetDeviceMemoryPriorityEXT),
        // bind.cpp
        ADD_HOOK(BindBufferMemory),
        ADD_HOOK(BindImageMemory),
        ADD_HOOK(BindBufferMemory2),
        ADD_HOOK(BindImageMemory2),
        ADD_HOOK(BindBufferMemory2KHR),
        ADD_HOOK(BindImageMemory2KHR),
        ADD_HOOK(QueueBindSparse),
        ADD_HOOK(BindAccelerationStructureMemoryNV),
        ADD_HOOK(BindVideoSessionMemoryKHR),
        // properties.cpp
        ADD_HOOK(GetBufferMemoryRequirements),
        ADD_HOOK(GetImageMemoryRequirements),
        ADD_HOOK(GetBufferMemoryRequirements2),
        ADD_HOOK(GetImageMemoryRequirements2),
        ADD_HOOK(GetBufferMemoryRequirements2KHR),
        ADD_HOOK(GetImageMemoryRequirements2KHR),
        ADD_HOOK(GetDeviceBufferMemoryRequirements),
        ADD_HOOK(GetDeviceImageMemoryRequirements),
        ADD_HOOK(GetDeviceBufferMemoryRequirementsKHR),
        ADD_HOOK(GetDeviceImageMemoryRequirementsKHR),
        ADD_HOOK(GetAccelerationStructureMemoryRequirementsNV),
        ADD_HOOK(GetVideoSessionMemoryRequirementsKHR),
        ADD_HOOK(CreateBuffer),
        ADD_HOOK(CreateImage),
        ADD_HOOK(DestroyBuffer),
        ADD_HOOK(DestroyImage),
        // queue.cpp
        ADD_HOOK(QueueSubmit),
        ADD_HOOK(QueueSubmit2),
        ADD_HOOK(QueueSubmit2KHR),
        ADD_HOOK(QueueWaitIdle),
        ADD_HOOK(QueueBeginDebugUtilsLabelEXT),
        ADD_HOOK(QueueEndDebugUtilsLabelEXT),
        ADD_HOOK(QueueInsertDebugUtilsLabelEXT),
        ADD_HOOK(DeviceWaitIdle),
        // dump.cpp
        ADD_HOOK(QueuePresentKHR),
        // names.cpp
        ADD_HOOK(SetDebugUtilsObjectNameEXT),
        ADD_HOOK(SetDebugUtilsObjectTagEXT),
        ADD_HOOK(DebugMarkerSetObjectNameEXT),
        ADD_HOOK(DebugMarkerSetObjectTagEXT),
        ADD_HOOK(SetPrivateData),
        ADD_HOOK(GetPrivateData),
        ADD_HOOK(SetPrivateDataEXT),
        ADD_HOOK(GetPrivateDataEXT),
    };
    return kDeviceFunctions;
}

PFN_vkVoidFunction Find(const FunctionMap& map, const char* name) {
    auto it = map.find(name);
    return it == map.end() ? nullptr : it->second;
}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* pName) {
    if (!pName) return nullptr;
    DeviceData* data = device ? GetDeviceData(device) : nullptr;
    if (!data) return nullptr;
    PFN_vkVoidFunction next = data->dispatch.GetDeviceProcAddr(device, pName);
    // LLP_LAYER_18: a function the device does not support stays NULL, hooked or not.
    if (!next) return nullptr;
    if (PFN_vkVoidFunction hook = Find(DeviceFunctions(), pName)) return hook;
    return next;
}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetInstanceProcAddr(VkInstance instance, const char* pName) {
    if (!pName) return nullptr;
    // Global functions are answered without an instance.
    if (std::strcmp(pName, "vkCreateInstance") == 0 || std::strcmp(pName, "vkGetInstanceProcAddr") == 0 ||
        std::strcmp(pName, "vkEnumerateInstanceLayerProperties") == 0 ||
        std::strcmp(pName, "vkEnumerateInstanceExtensionProperties") == 0) {
        return Find(InstanceFunctions(), pName);
    }
    InstanceData* data = instance ? GetInstanceData(instance) : nullptr;
    if (!data) return nullptr;
    PFN_vkVoidFunction next = data->nextGetInstanceProcAddr(instance, pName);
    if (std::strcmp(pName, "vkGetDeviceProcAddr") == 0) return reinterpret_cast<PFN_vkVoidFunction>(GetDeviceProcAddr);
    if (!next) return nullptr;
    if (PFN_vkVoidFunction hook = Find(InstanceFunctions(), pName)) return hook;
    if (PFN_vkVoidFunction hook = Find(DeviceFunctions(), pName)) return hook;
    return next;
}

}  // namespace
}  // namespace vma::layer

// Exported C entry points: they only forward.
extern "C" {

VK_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface* pVersionStruct) {
    if (!pVersionStruct || pVersionStruct->sType != LAYER_NEGOTIATE_INTERFACE_STRUCT) {
        return VK_ERROR_INITIALIZATION_FAILED;
    }
    if (pVersionStruct->loaderLayerInterfaceVersion < 2) return VK_ERROR_INITIALIZATION_FAILED;
    pVersionStruct->loaderLayerInterfaceVersion = 2;
    pVersionStruct->pfnGetInstanceProcAddr = vma::layer::GetInstanceProcAddr;
    pVersionStruct->pfnGetDeviceProcAddr = vma::layer::GetDeviceProcAddr;
    pVersionStruct->pfnGetPhysicalDeviceProcAddr = nullptr;
    return VK_SUCCESS;
}

VK_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetInstanceProcAddr(VkInstance instance, const char* pName) {
    return vma::layer::GetInstanceProcAddr(instance, pName);
}

VK_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetDeviceProcAddr(VkDevice device, const char* pName) {
    return vma::layer::GetDeviceProcAddr(device, pName);
}

VK_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vkEnumerateInstanceLayerProperties(uint32_t* pCount,
                                                                                  VkLayerProperties* pProperties) {
    return vma::layer::EnumerateInstanceLayerProperties(pCount, pProperties);
}

VK_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vkEnumerateInstanceExtensionProperties(const char* pLayerName,
                                                                                      uint32_t* pCount,
                                                                                      VkExtensionProperties* pProperties) {
    return vma::layer::EnumerateInstanceExtensionProperties(pLayerName, pCount, pProperties);
}

VK_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vkEnumerateDeviceLayerProperties(VkPhysicalDevice physicalDevice,
                                                                                uint32_t* pCount,
                                                                                VkLayerProperties* pProperties) {
    return vma::layer::EnumerateDeviceLayerProperties(physicalDevice, pCount, pProperties);
}

VK_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vkEnumerateDeviceExtensionProperties(VkPhysicalDevice physicalDevice,
                                                                                    const char* pLayerName,
                                                                                    uint32_t* pCount,
                                                                                    VkExtensionProperties* pProperties) {
    return vma::layer::EnumerateDeviceExtensionProperties(physicalDevice, pLayerName, pCount, pProperties);
}

}  // extern "C"
