// Vulkan declarations newer than the bookworm 1.3.239 headers, restated from vk.xml 1.4
// (values in ../shared/reference/layer-interface.md §2.4).
#pragma once

#include <vulkan/vulkan.h>

#ifndef VK_KHR_map_memory2
#define VK_KHR_map_memory2 1
#define VK_KHR_MAP_MEMORY_2_SPEC_VERSION 1
#define VK_KHR_MAP_MEMORY_2_EXTENSION_NAME "VK_KHR_map_memory2"
constexpr VkStructureType VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR = static_cast<VkStructureType>(1000271000);
constexpr VkStructureType VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR = static_cast<VkStructureType>(1000271001);
typedef VkFlags VkMemoryUnmapFlagsKHR;
typedef struct VkMemoryMapInfoKHR {
    VkStructureType sType;
    const void* pNext;
    VkMemoryMapFlags flags;
    VkDeviceMemory memory;
    VkDeviceSize offset;
    VkDeviceSize size;
} VkMemoryMapInfoKHR;
typedef struct VkMemoryUnmapInfoKHR {
    VkStructureType sType;
    const void* pNext;
    VkMemoryUnmapFlagsKHR flags;
    VkDeviceMemory memory;
} VkMemoryUnmapInfoKHR;
typedef VkResult(VKAPI_PTR* PFN_vkMapMemory2KHR)(VkDevice device, const VkMemoryMapInfoKHR* pMemoryMapInfo,
                                                 void** ppData);
typedef VkResult(VKAPI_PTR* PFN_vkUnmapMemory2KHR)(VkDevice device, const VkMemoryUnmapInfoKHR* pMemoryUnmapInfo);
#endif

constexpr VkStructureType kStructureTypeMemoryMapPlacedInfoExt = static_cast<VkStructureType>(1000272002);
constexpr VkStructureType kStructureTypeBindMemoryStatus = static_cast<VkStructureType>(1000545002);
constexpr VkFlags kMemoryMapPlacedBitExt = 0x1;
constexpr VkFlags kMemoryUnmapReserveBitExt = 0x1;
constexpr VkFlags kMemoryAllocateZeroInitializeBitExt = 0x8;

#ifndef VK_API_VERSION_1_4
#define VK_API_VERSION_1_4 VK_MAKE_API_VERSION(0, 1, 4, 0)
#endif
