#include "extensions.h"

#include <cstring>
#include <iterator>

#include "vk_local.h"

namespace vma::layer {
namespace {

struct KnownExtension {
    const char* name;
    bool carriesMemory;
    const char* carriers;
};

// Every device extension of the registry the layer was built against (generated).
const KnownExtension kRegistry[] = {
#include "device_extensions.inc"
};

// Extensions that carry VkDeviceMemory and are translated by the layer (see intercepts.h).
const char* const kTranslated[] = {
    "VK_KHR_bind_memory2",                  // BindBufferMemory2KHR / BindImageMemory2KHR
    "VK_KHR_buffer_device_address",         // GetDeviceMemoryOpaqueCaptureAddressKHR
    "VK_KHR_external_memory_fd",            // GetMemoryFdKHR (exported memory is never pooled)
    "VK_EXT_pageable_device_local_memory",  // SetDeviceMemoryPriorityEXT
    VK_KHR_MAP_MEMORY_2_EXTENSION_NAME,     // MapMemory2KHR / UnmapMemory2KHR (newer than the headers)
};

// Extensions that carry no VkDeviceMemory handle by type but report or depend on the identity of
// the driver's memory objects, which the app never sees.
const char* const kHidden[] = {
    "VK_EXT_device_memory_report",  // reports driver memory objects (the layer's blocks)
    "VK_EXT_map_memory_placed",     // a slice cannot be placed at an app-chosen address
};

bool InList(const char* name, const char* const* list, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (std::strcmp(name, list[i]) == 0) return true;
    }
    return false;
}

}  // namespace

bool IsDeviceExtensionAllowed(const char* name) {
    if (InList(name, kHidden, std::size(kHidden))) return false;
    if (InList(name, kTranslated, std::size(kTranslated))) return true;
    for (const auto& e : kRegistry) {
        if (std::strcmp(name, e.name) == 0) return !e.carriesMemory;
    }
    return false;  // unknown to this build: it may carry VkDeviceMemory
}

}  // namespace vma::layer
