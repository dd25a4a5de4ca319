// Where the layer's messages go: an spdlog logger (stderr or the log_file setting) and every
// VK_EXT_debug_utils messenger the application created on the instance (or chained to
// VkInstanceCreateInfo), so a corruption report shows up where the app already looks.
#pragma once

#include <vulkan/vulkan.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "settings.h"

namespace spdlog {
class logger;
}

namespace vma::layer {

enum class Severity { kDebug, kInfo, kWarning, kError };

// "0x..." for handles and masks in report messages.
std::string Hex(std::uint64_t value);

class Reporter {
public:
    explicit Reporter(const Settings& settings);
    ~Reporter();

    // `id` is a short stable message id (e.g. "VMA-bind-out-of-slice"), shown to messengers as
    // pMessageIdName. Safe from any thread; never call it while holding a lock the app's callback
    // could need (callbacks may call back into Vulkan).
    void Report(Severity severity, const char* id, const std::string& message,
                VkObjectType objectType = VK_OBJECT_TYPE_UNKNOWN, std::uint64_t objectHandle = 0);

    void AddMessenger(VkDebugUtilsMessengerEXT handle, const VkDebugUtilsMessengerCreateInfoEXT& info);
    void RemoveMessenger(VkDebugUtilsMessengerEXT handle);
    void Flush();

    bool Enabled(Severity severity) const;

private:
    struct Messenger {
        VkDebugUtilsMessengerEXT handle;
        VkDebugUtilsMessageSeverityFlagsEXT severities;
        VkDebugUtilsMessageTypeFlagsEXT types;
        PFN_vkDebugUtilsMessengerCallbackEXT callback;
        void* userData;
    };
    std::shared_ptr<spdlog::logger> logger_;
    LogLevel level_;
    std::mutex mutex_;
    std::vector<Messenger> messengers_;
};

}  // namespace vma::layer
