// Layer settings: one struct, filled once per instance from (lowest to highest precedence)
// defaults, VK_EXT_layer_settings structs chained to VkInstanceCreateInfo, the settings file
// (vk_layer_settings.txt, key "vma_suballocator.<key>") and environment variables
// (VK_VMA_SUBALLOCATOR_<KEY>). A value that does not parse is reported (key and value named)
// and the lower-precedence value stays.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "types.h"  // vma::core::Algorithm

namespace vma::layer {

constexpr const char* kLayerName = "VK_LAYER_VMA_suballocator";
constexpr const char* kSettingsPrefix = "vma_suballocator";
constexpr const char* kEnvPrefix = "VK_VMA_SUBALLOCATOR_";
constexpr std::uint32_t kMaxMemoryTypes = VK_MAX_MEMORY_TYPES;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

struct Settings {
    // Logging.
    LogLevel logLevel = LogLevel::kInfo;
    std::string logFile;  // empty: stderr

    // Suballocation policy.
    core::Algorithm algorithm = core::Algorithm::kTlsf;
    std::array<std::optional<core::Algorithm>, kMaxMemoryTypes> algorithmPerType{};
    std::uint64_t blockSize = 0;           // 0: VMA's rule (256 MiB, heap/8 for heaps <= 1 GiB)
    std::uint64_t dedicatedThreshold = 0;  // 0: half a block; larger allocations get their own memory
    std::uint64_t minAlignment = 0;        // floor for every slice's alignment (power of two)
    std::uint32_t keepEmptyBlocks = 1;
    std::uint32_t emptyBlockGraceMs = 1000;  // empty blocks beyond keepEmptyBlocks live this long

    // Memory-corruption hunting.
    bool detectCorruption = false;         // magic words in the margins, checked on free and on demand
    std::uint64_t debugMargin = 0;         // bytes before and after each slice (0: 64 when detecting)
    bool fillAllocations = false;          // 0xDC on allocation, 0xEF on free
    bool passThroughAll = false;           // turn suballocation off (still counted and wrapped)
    std::uint32_t passThroughTypes = 0;    // bit i: memory type i is never pooled
    std::uint32_t maxAllocationCount = 0;  // 0: report the driver's limit; else advertise this one

    // State map (layer/dump.cpp): VMA's JSON dump, written when one of the dump_on events happens.
    std::string dumpFile;                  // empty: no dumps; "%p" → process id, "%n" → dump number
    bool dumpOnDestroy = true;             // at vkDestroyDevice, before the layer frees anything
    bool dumpOnOom = false;                // when an app vkAllocateMemory fails
    bool dumpOnIdle = false;               // after every vkDeviceWaitIdle
    std::uint32_t dumpEveryPresents = 0;   // after every N-th vkQueuePresentKHR (0: never)

    // Where each value came from, for the log and the tests ("default", "api", "file", "env").
    std::vector<std::pair<std::string, std::string>> sources;

    std::string Describe() const;  // one line: every setting and its value
};

// A problem found while reading settings: key, offending value, and why.
struct SettingsWarning {
    std::string key;
    std::string value;
    std::string reason;
};

// Reads every source. `createInfo` may be null. Warnings are returned, not logged, so the caller
// decides where they go (the logger is configured from the result).
Settings LoadSettings(const VkInstanceCreateInfo* createInfo, std::vector<SettingsWarning>* warnings);

// The documented list of settings, for the manifest and docs (key, type, default, description).
struct SettingInfo {
    const char* key;
    const char* type;
    const char* defaultValue;
    const char* description;
};
const std::vector<SettingInfo>& AllSettings();

// VK_EXT_layer_settings (absent from the 1.3.239 headers).
#ifndef VK_EXT_layer_settings
#define VK_EXT_layer_settings 1
#define VK_EXT_LAYER_SETTINGS_SPEC_VERSION 2
#define VK_EXT_LAYER_SETTINGS_EXTENSION_NAME "VK_EXT_layer_settings"
constexpr VkStructureType VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT = static_cast<VkStructureType>(1000496000);
typedef enum VkLayerSettingTypeEXT {
    VK_LAYER_SETTING_TYPE_BOOL32_EXT = 0,
    VK_LAYER_SETTING_TYPE_INT32_EXT = 1,
    VK_LAYER_SETTING_TYPE_INT64_EXT = 2,
    VK_LAYER_SETTING_TYPE_UINT32_EXT = 3,
    VK_LAYER_SETTING_TYPE_UINT64_EXT = 4,
    VK_LAYER_SETTING_TYPE_FLOAT32_EXT = 5,
    VK_LAYER_SETTING_TYPE_FLOAT64_EXT = 6,
    VK_LAYER_SETTING_TYPE_STRING_EXT = 7,
} VkLayerSettingTypeEXT;
typedef struct VkLayerSettingEXT {
    const char* pLayerName;
    const char* pSettingName;
    VkLayerSettingTypeEXT type;
    uint32_t valueCount;
    const void* pValues;
} VkLayerSettingEXT;
typedef struct VkLayerSettingsCreateInfoEXT {
    VkStructureType sType;
    const void* pNext;
    uint32_t settingCount;
    const VkLayerSettingEXT* pSettings;
} VkLayerSettingsCreateInfoEXT;
#endif

}  // namespace vma::layer
