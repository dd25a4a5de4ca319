// A small Vulkan set-up for layer tests: the real loader, lavapipe, our layer enabled the way a
// user would enable it, and a debug-utils messenger that collects every message.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace vma::test {

struct Message {
    VkDebugUtilsMessageSeverityFlagBitsEXT severity;
    std::string id;
    std::string text;
};

// Sets the environment every layer test uses: our build dir as the layer path, one driver
// (lavapipe, or the ICD manifest in VMA_TEST_ICD, e.g. the NVIDIA one on the GPU machine), no Mesa
// device-select layer.
inline void SetBaseEnvironment() {
    setenv("VK_LAYER_PATH", VMA_BUILD_DIR, 1);
    const char* icd = std::getenv("VMA_TEST_ICD");
    setenv("VK_DRIVER_FILES", icd && *icd ? icd : "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", 1);
    setenv("NODEVICE_SELECT", "1", 1);
    unsetenv("VK_LOADER_LAYERS_ENABLE");
}

struct Context {
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physicalDevice = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    VkQueue queue = VK_NULL_HANDLE;
    std::uint32_t queueFamily = 0;
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
    VkPhysicalDeviceMemoryProperties memoryProperties{};
    VkPhysicalDeviceProperties properties{};
    std::mutex mutex;
    std::vector<Message> messages;
    std::uint32_t apiVersion_ = VK_API_VERSION_1_3;
    bool enableSparseBinding = false;  // set before Create(): enables the feature if the device has it
    void* deviceNext = nullptr;        // set before Create(): chained to VkDeviceCreateInfo (feature structs)

    static VKAPI_ATTR VkBool32 VKAPI_CALL Callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
        auto* self = static_cast<Context*>(user);
        std::lock_guard<std::mutex> lock(self->mutex);
        self->messages.push_back({severity, data->pMessageIdName ? data->pMessageIdName : "",
                                  data->pMessage ? data->pMessage : ""});
        return VK_FALSE;
    }

    VkDebugUtilsMessengerCreateInfoEXT MessengerInfo() {
        VkDebugUtilsMessengerCreateInfoEXT info{};
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
        info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT;
        info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        info.pfnUserCallback = Callback;
        info.pUserData = this;
        return info;
    }

    // Creates the instance (with a debug-utils messenger) and picks the first physical device.
    // `instanceNext` is chained to VkInstanceCreateInfo after the messenger create info, which sees
    // messages during creation.
    VkResult CreateInstance(const void* instanceNext = nullptr, std::uint32_t apiVersion = VK_API_VERSION_1_3) {
        apiVersion_ = apiVersion;
        VkApplicationInfo app{};
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
        app.pApplicationName = "vma-layer-test";
        app.apiVersion = apiVersion;
        VkDebugUtilsMessengerCreateInfoEXT chained = MessengerInfo();
        chained.pNext = instanceNext;
        const char* extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
        VkInstanceCreateInfo ci{};
        ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
        ci.pNext = &chained;
        ci.pApplicationInfo = &app;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = extensions;
        VkResult r = vkCreateInstance(&ci, nullptr, &instance);
        if (r != VK_SUCCESS) return r;
        auto createMessenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
        VkDebugUtilsMessengerCreateInfoEXT mi = MessengerInfo();
        r = createMessenger(instance, &mi, nullptr, &messenger);
        if (r != VK_SUCCESS) return r;
        std::uint32_t count = 1;
        r = vkEnumeratePhysicalDevices(instance, &count, &physicalDevice);
        if (r != VK_SUCCESS && r != VK_INCOMPLETE) return r;
        vkGetPhysicalDeviceMemoryProperties(physicalDevice, &memoryProperties);
        vkGetPhysicalDeviceProperties(physicalDevice, &properties);
        return VK_SUCCESS;
    }

    // Creates the device with one graphics queue (privateData enabled on 1.3).
    VkResult CreateDevice(std::vector<const char*> deviceExtensions = {}) {
        std::uint32_t familyCount = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(physicalDevice, &familyCount, nullptr);
        std::vector<VkQueueFamilyProperties> families(familyCount);
        vkGetPhysicalDeviceQueueFamilyProperties(physicalDevice, &familyCount, families.data());
        for (std::uint32_t i = 0; i < familyCount; ++i) {
            if (families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) {
                queueFamily = i;
                break;
            }
        }
        const float priority = 1.f;
        VkDeviceQueueCreateInfo qi{};
        qi.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
        qi.queueFamilyIndex = queueFamily;
        qi.queueCount = 1;
        qi.pQueuePriorities = &priority;
        VkPhysicalDeviceVulkan13Features f13{};
        f13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
        f13.privateData = VK_TRUE;
        f13.pNext = deviceNext;
        VkPhysicalDeviceFeatures supported{};
        vkGetPhysicalDeviceFeatures(physicalDevice, &supported);
        VkPhysicalDeviceFeatures enabled{};
        enabled.sparseBinding = enableSparseBinding && supported.sparseBinding;
        VkDeviceCreateInfo di{};
        di.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
        di.pEnabledFeatures = &enabled;
        di.pNext = apiVersion_ >= VK_API_VERSION_1_3 ? static_cast<void*>(&f13) : deviceNext;
        di.queueCreateInfoCount = 1;
        di.pQueueCreateInfos = &qi;
        di.enabledExtensionCount = static_cast<std::uint32_t>(deviceExtensions.size());
        di.ppEnabledExtensionNames = deviceExtensions.data();
        VkResult r = vkCreateDevice(physicalDevice, &di, nullptr, &device);
        if (r != VK_SUCCESS) return r;
        vkGetDeviceQueue(device, queueFamily, 0, &queue);
        return VK_SUCCESS;
    }

    VkResult Create(const void* instanceNext = nullptr, std::uint32_t apiVersion = VK_API_VERSION_1_3,
                    std::vector<const char*> deviceExtensions = {}) {
        VkResult r = CreateInstance(instanceNext, apiVersion);
        return r == VK_SUCCESS ? CreateDevice(std::move(deviceExtensions)) : r;
    }

    // Records commands into a one-time command buffer, submits it and waits for the queue.
    template <typename Record>
    VkResult SubmitAndWait(Record record) {
        VkCommandPoolCreateInfo pi{};
        pi.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pi.queueFamilyIndex = queueFamily;
        VkCommandPool pool;
        VkResult r = vkCreateCommandPool(device, &pi, nullptr, &pool);
        if (r != VK_SUCCESS) return r;
        VkCommandBufferAllocateInfo ai{};
        ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        ai.commandPool = pool;
        ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        ai.commandBufferCount = 1;
        VkCommandBuffer cb;
        r = vkAllocateCommandBuffers(device, &ai, &cb);
        if (r == VK_SUCCESS) {
            VkCommandBufferBeginInfo begin{};
            begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
            begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
            vkBeginCommandBuffer(cb, &begin);
            record(cb);
            vkEndCommandBuffer(cb);
            VkSubmitInfo submit{};
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
            submit.commandBufferCount = 1;
            submit.pCommandBuffers = &cb;
            r = vkQueueSubmit(queue, 1, &submit, VK_NULL_HANDLE);
            if (r == VK_SUCCESS) r = vkQueueWaitIdle(queue);
        }
        vkDestroyCommandPool(device, pool, nullptr);
        return r;
    }

    void DestroyDevice() {
        if (device) vkDestroyDevice(device, nullptr);
        device = VK_NULL_HANDLE;
    }

    void Destroy() {
        DestroyDevice();
        if (messenger) {
            auto destroyMessenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
                vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
            destroyMessenger(instance, messenger, nullptr);
            messenger = VK_NULL_HANDLE;
        }
        if (instance) vkDestroyInstance(instance, nullptr);
        instance = VK_NULL_HANDLE;
    }

    ~Context() { Destroy(); }

    std::uint32_t FindType(VkMemoryPropertyFlags flags, std::uint32_t bits = ~0u) const {
        for (std::uint32_t i = 0; i < memoryProperties.memoryTypeCount; ++i) {
            if ((bits & (1u << i)) && (memoryProperties.memoryTypes[i].propertyFlags & flags) == flags) return i;
        }
        return UINT32_MAX;
    }

    // Whether the physical device (as the layer shows it) offers a device extension. Call between
    // instance and device creation, or after Create().
    static bool Supports(VkPhysicalDevice physicalDevice, const char* extension) {
        std::uint32_t n = 0;
        vkEnumerateDeviceExtensionProperties(physicalDevice, nullptr, &n, nullptr);
        std::vector<VkExtensionProperties> exts(n);
        vkEnumerateDeviceExtensionProperties(physicalDevice, nullptr, &n, exts.data());
        for (const auto& e : exts) {
            if (std::string(e.extensionName) == extension) return true;
        }
        return false;
    }

    bool SawMessage(const std::string& idOrText) {
        std::lock_guard<std::mutex> lock(mutex);
        for (const auto& m : messages) {
            if (m.id == idOrText || m.text.find(idOrText) != std::string::npos) return true;
        }
        return false;
    }

    // Error-severity messages only, one a line ("" when there were none).
    std::string Errors() {
        std::lock_guard<std::mutex> lock(mutex);
        std::string all;
        for (const auto& m : messages) {
            if (m.severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) all += m.id + ": " + m.text + "\n";
        }
        return all;
    }

    std::string AllMessages() {
        std::lock_guard<std::mutex> lock(mutex);
        std::ostringstream o;
        for (const auto& m : messages) o << m.id << ": " << m.text << "\n";
        return o.str();
    }
};

// The image most layer tests make: 64×64 RGBA8, 2D, one mip level and layer.
inline VkImageCreateInfo ImageInfo64(VkImageTiling tiling, VkImageUsageFlags usage) {
    VkImageCreateInfo ii{};
    ii.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
    ii.imageType = VK_IMAGE_TYPE_2D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.extent = {64, 64, 1};
    ii.mipLevels = 1;
    ii.arrayLayers = 1;
    ii.samples = VK_SAMPLE_COUNT_1_BIT;
    ii.tiling = tiling;
    ii.usage = usage;
    ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    return ii;
}

// vkAllocateMemory of `size` bytes of `type`, `next` chained.
inline VkResult AllocateMemory(VkDevice device, VkDeviceSize size, std::uint32_t type, const void* next,
                               VkDeviceMemory* memory) {
    VkMemoryAllocateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    info.pNext = next;
    info.allocationSize = size;
    info.memoryTypeIndex = type;
    return vkAllocateMemory(device, &info, nullptr, memory);
}

inline std::string ReadFile(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Parses "app allocations N, driver allocations M" from the layer's summary line.
inline bool ParseSummary(const std::string& log, std::uint64_t* app, std::uint64_t* driver) {
    const auto pos = log.rfind("summary: app allocations ");
    if (pos == std::string::npos) return false;
    return std::sscanf(log.c_str() + pos, "summary: app allocations %lu, driver allocations %lu", app, driver) == 2;
}

}  // namespace vma::test
