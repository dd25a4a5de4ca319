// Prints the settings LoadSettings sees in a fresh process, one "key=value source" line each,
// then one "warning ..." line per warning. Used by settings_test.cpp for the settings file,
// whose reader caches the file for the life of a process.
#include <cstdio>

#include "settings.h"

int main() {
    using namespace vma::layer;
    const std::uint64_t apiBlock = 8ull << 20;
    VkLayerSettingEXT item{kLayerName, "block_size", VK_LAYER_SETTING_TYPE_UINT64_EXT, 1, &apiBlock};
    VkLayerSettingsCreateInfoEXT api{VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT, nullptr, 1, &item};
    VkInstanceCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ci.pNext = &api;
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(&ci, &warnings);
    auto source = [&](const char* key) {
        for (auto& [k, v] : s.sources) {
            if (k == key) return v;
        }
        return std::string("default");
    };
    std::printf("block_size=%llu %s\n", static_cast<unsigned long long>(s.blockSize), source("block_size").c_str());
    std::printf("keep_empty_blocks=%u %s\n", s.keepEmptyBlocks, source("keep_empty_blocks").c_str());
    std::printf("dedicated_threshold=%llu %s\n", static_cast<unsigned long long>(s.dedicatedThreshold),
                source("dedicated_threshold").c_str());
    for (const auto& w : warnings) std::printf("warning %s '%s' %s\n", w.key.c_str(), w.value.c_str(), w.reason.c_str());
    return 0;
}
