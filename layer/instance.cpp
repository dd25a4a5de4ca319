// Instance lifecycle, the layer's enumerate functions, and debug-utils messengers.
#include <cstring>

#include "intercepts.h"
#include "layer.h"

#include <vulkan/vk_dispatch_table_helper.h>

namespace vma::layer {
namespace {

const VkLayerProperties kLayerProperties = {
    "VK_LAYER_VMA_suballocator", VK_MAKE_API_VERSION(0, 1, 3, 239), 1,
    "Transparent VkDeviceMemory suballocation (TLSF/linear/buddy) with corruption detection and VMA-format dumps"};

// Instance extensions this layer implements itself.
const VkExtensionProperties kInstanceExtensions[] = {
    {VK_EXT_LAYER_SETTINGS_EXTENSION_NAME, VK_EXT_LAYER_SETTINGS_SPEC_VERSION},
};

template <typename T>
VkResult FillArray(const T* source, std::uint32_t count, std::uint32_t* pCount, T* out) {
    if (!out) {
        *pCount = count;
        return VK_SUCCESS;
    }
    const std::uint32_t n = *pCount < count ? *pCount : count;
    std::memcpy(out, source, n * sizeof(T));
    *pCount = n;
    return n < count ? VK_INCOMPLETE : VK_SUCCESS;
}

VkLayerInstanceCreateInfo* FindLayerLink(const VkInstanceCreateInfo* createInfo) {
    auto* p = static_cast<const VkBaseInStructure*>(createInfo->pNext);
    for (; p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO) {
            auto* info = const_cast<VkLayerInstanceCreateInfo*>(reinterpret_cast<const VkLayerInstanceCreateInfo*>(p));
            if (info->function == VK_LAYER_LINK_INFO) return info;
        }
    }
    return nullptr;
}

HostAllocator MakeHostAllocator(const VkAllocationCallbacks* pAllocator) {
    HostAllocator a;
    if (pAllocator) {
        a.callbacks = *pAllocator;
        a.present = true;
    }
    return a;
}

}  // namespace

VkResult EnumerateInstanceLayerProperties(std::uint32_t* pCount, VkLayerProperties* pProperties) {
    return FillArray(&kLayerProperties, 1, pCount, pProperties);
}

VkResult EnumerateInstanceExtensionProperties(const char* pLayerName, std::uint32_t* pCount,
                                              VkExtensionProperties* pProperties) {
    // LLP_LAYER_15: answer only for our own name.
    if (!pLayerName || std::strcmp(pLayerName, kLayerProperties.layerName) != 0) return VK_ERROR_LAYER_NOT_PRESENT;
    return FillArray(kInstanceExtensions, 1, pCount, pProperties);
}

VkResult EnumerateDeviceLayerProperties(VkPhysicalDevice, std::uint32_t* pCount, VkLayerProperties* pProperties) {
    return FillArray(&kLayerProperties, 1, pCount, pProperties);
}

VkResult CreateInstance(const VkInstanceCreateInfo* pCreateInfo, const VkAllocationCallbacks* pAllocator,
                        VkInstance* pInstance) {
    VkLayerInstanceCreateInfo* link = FindLayerLink(pCreateInfo);
    if (!link || !link->u.pLayerInfo) return VK_ERROR_INITIALIZATION_FAILED;
    PFN_vkGetInstanceProcAddr nextGipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
    auto nextCreate = reinterpret_cast<PFN_vkCreateInstance>(nextGipa(VK_NULL_HANDLE, "vkCreateInstance"));
    if (!nextCreate) return VK_ERROR_INITIALIZATION_FAILED;

    HostAllocator allocator = MakeHostAllocator(pAllocator);
    InstancePtr data = MakeHostObject<InstanceData>(allocator, VK_SYSTEM_ALLOCATION_SCOPE_INSTANCE);
    if (!data) return VK_ERROR_OUT_OF_HOST_MEMORY;
    data->allocator = allocator;

    std::vector<SettingsWarning> warnings;
    data->settings = LoadSettings(pCreateInfo, &warnings);
    data->reporter = std::make_unique<Reporter>(data->settings);
    // Messengers chained to VkInstanceCreateInfo see our messages during creation and destruction.
    for (auto* p = static_cast<const VkBaseInStructure*>(pCreateInfo->pNext); p; p = p->pNext) {
        if (p->sType == VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT) {
            data->reporter->AddMessenger(VK_NULL_HANDLE,
                                         *reinterpret_cast<const VkDebugUtilsMessengerCreateInfoEXT*>(p));
        }
    }
    for (const auto& w : warnings) {
        data->reporter->Report(Severity::kWarning, "VMA-settings",
                               "ignoring setting " + w.key + " = '" + w.value + "': " + w.reason +
                                   "; the default stays");
    }

    // Advance the link before calling down (LLP_LAYER_12).
    link->u.pLayerInfo = link->u.pLayerInfo->pNext;

    // VK_EXT_layer_settings is ours: do not pass it to the layers below / the driver.
    std::vector<const char*> extensions;
    for (std::uint32_t i = 0; i < pCreateInfo->enabledExtensionCount; ++i) {
        const char* name = pCreateInfo->ppEnabledExtensionNames[i];
        data->enabledExtensions.insert(name);
        if (std::strcmp(name, VK_EXT_LAYER_SETTINGS_EXTENSION_NAME) != 0) extensions.push_back(name);
    }
    VkInstanceCreateInfo createInfo = *pCreateInfo;
    createInfo.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
    createInfo.ppEnabledExtensionNames = extensions.data();

    VkResult result = nextCreate(&createInfo, pAllocator, pInstance);
    // Messengers chained to the create info only apply while the instance is being created.
    data->reporter->RemoveMessenger(VK_NULL_HANDLE);
    if (result != VK_SUCCESS) return result;

    data->instance = *pInstance;
    data->nextGetInstanceProcAddr = nextGipa;
    data->apiVersion = pCreateInfo->pApplicationInfo && pCreateInfo->pApplicationInfo->apiVersion
                           ? pCreateInfo->pApplicationInfo->apiVersion
                           : VK_API_VERSION_1_0;
    layer_init_instance_dispatch_table(*pInstance, &data->dispatch, nextGipa);
    data->reporter->Report(Severity::kDebug, "VMA-instance", "instance created; settings: " + data->settings.Describe());
    StoreInstanceData(GetDispatchKey(*pInstance), std::move(data));
    return VK_SUCCESS;
}

void DestroyInstance(VkInstance instance, const VkAllocationCallbacks* pAllocator) {
    if (!instance) return;
    InstancePtr data = TakeInstanceData(GetDispatchKey(instance));
    if (!data) return;
    data->dispatch.DestroyInstance(instance, pAllocator);
    data->reporter->Flush();
}

VkResult CreateDebugUtilsMessengerEXT(VkInstance instance, const VkDebugUtilsMessengerCreateInfoEXT* pCreateInfo,
                                      const VkAllocationCallbacks* pAllocator, VkDebugUtilsMessengerEXT* pMessenger) {
    InstanceData* data = GetInstanceData(instance);
    VkResult result = data->dispatch.CreateDebugUtilsMessengerEXT(instance, pCreateInfo, pAllocator, pMessenger);
    if (result == VK_SUCCESS) data->reporter->AddMessenger(*pMessenger, *pCreateInfo);
    return result;
}

void DestroyDebugUtilsMessengerEXT(VkInstance instance, VkDebugUtilsMessengerEXT messenger,
                                   const VkAllocationCallbacks* pAllocator) {
    InstanceData* data = GetInstanceData(instance);
    data->reporter->RemoveMessenger(messenger);
    data->dispatch.DestroyDebugUtilsMessengerEXT(instance, messenger, pAllocator);
}

}  // namespace vma::layer
