// Every function the layer intercepts, grouped by family. The hook tables in entry.cpp map the
// Vulkan names (and aliases) to these.
#pragma once

#include <vulkan/vulkan.h>

#include "vk_local.h"

namespace vma::layer {

// instance.cpp
VkResult CreateInstance(const VkInstanceCreateInfo*, const VkAllocationCallbacks*, VkInstance*);
void DestroyInstance(VkInstance, const VkAllocationCallbacks*);
VkResult EnumerateInstanceLayerProperties(uint32_t*, VkLayerProperties*);
VkResult EnumerateInstanceExtensionProperties(const char*, uint32_t*, VkExtensionProperties*);
VkResult EnumerateDeviceLayerProperties(VkPhysicalDevice, uint32_t*, VkLayerProperties*);
VkResult CreateDebugUtilsMessengerEXT(VkInstance, const VkDebugUtilsMessengerCreateInfoEXT*,
                                      const VkAllocationCallbacks*, VkDebugUtilsMessengerEXT*);
void DestroyDebugUtilsMessengerEXT(VkInstance, VkDebugUtilsMessengerEXT, const VkAllocationCallbacks*);

// device.cpp
VkResult EnumerateDeviceExtensionProperties(VkPhysicalDevice, const char*, uint32_t*, VkExtensionProperties*);
VkResult CreateDevice(VkPhysicalDevice, const VkDeviceCreateInfo*, const VkAllocationCallbacks*, VkDevice*);
void DestroyDevice(VkDevice, const VkAllocationCallbacks*);

// properties.cpp
void GetPhysicalDeviceProperties(VkPhysicalDevice, VkPhysicalDeviceProperties*);
void GetPhysicalDeviceProperties2(VkPhysicalDevice, VkPhysicalDeviceProperties2*);
void GetPhysicalDeviceProperties2KHR(VkPhysicalDevice, VkPhysicalDeviceProperties2*);
void GetBufferMemoryRequirements(VkDevice, VkBuffer, VkMemoryRequirements*);
void GetImageMemoryRequirements(VkDevice, VkImage, VkMemoryRequirements*);
void GetBufferMemoryRequirements2(VkDevice, const VkBufferMemoryRequirementsInfo2*, VkMemoryRequirements2*);
void GetImageMemoryRequirements2(VkDevice, const VkImageMemoryRequirementsInfo2*, VkMemoryRequirements2*);
void GetDeviceBufferMemoryRequirements(VkDevice, const VkDeviceBufferMemoryRequirements*, VkMemoryRequirements2*);
void GetDeviceImageMemoryRequirements(VkDevice, const VkDeviceImageMemoryRequirements*, VkMemoryRequirements2*);
void GetBufferMemoryRequirements2KHR(VkDevice, const VkBufferMemoryRequirementsInfo2*, VkMemoryRequirements2*);
void GetImageMemoryRequirements2KHR(VkDevice, const VkImageMemoryRequirementsInfo2*, VkMemoryRequirements2*);
void GetDeviceBufferMemoryRequirementsKHR(VkDevice, const VkDeviceBufferMemoryRequirements*, VkMemoryRequirements2*);
void GetDeviceImageMemoryRequirementsKHR(VkDevice, const VkDeviceImageMemoryRequirements*, VkMemoryRequirements2*);
VkResult CreateBuffer(VkDevice, const VkBufferCreateInfo*, const VkAllocationCallbacks*, VkBuffer*);
VkResult CreateImage(VkDevice, const VkImageCreateInfo*, const VkAllocationCallbacks*, VkImage*);
void DestroyBuffer(VkDevice, VkBuffer, const VkAllocationCallbacks*);
void DestroyImage(VkDevice, VkImage, const VkAllocationCallbacks*);

// memory.cpp
VkResult AllocateMemory(VkDevice, const VkMemoryAllocateInfo*, const VkAllocationCallbacks*, VkDeviceMemory*);
void FreeMemory(VkDevice, VkDeviceMemory, const VkAllocationCallbacks*);
VkResult MapMemory(VkDevice, VkDeviceMemory, VkDeviceSize, VkDeviceSize, VkMemoryMapFlags, void**);
void UnmapMemory(VkDevice, VkDeviceMemory);
VkResult MapMemory2KHR(VkDevice, const VkMemoryMapInfoKHR*, void**);
VkResult UnmapMemory2KHR(VkDevice, const VkMemoryUnmapInfoKHR*);
VkResult MapMemory2(VkDevice, const VkMemoryMapInfoKHR*, void**);  // Vulkan 1.4 core names
VkResult UnmapMemory2(VkDevice, const VkMemoryUnmapInfoKHR*);
VkResult FlushMappedMemoryRanges(VkDevice, uint32_t, const VkMappedMemoryRange*);
VkResult InvalidateMappedMemoryRanges(VkDevice, uint32_t, const VkMappedMemoryRange*);
void GetDeviceMemoryCommitment(VkDevice, VkDeviceMemory, VkDeviceSize*);
uint64_t GetDeviceMemoryOpaqueCaptureAddress(VkDevice, const VkDeviceMemoryOpaqueCaptureAddressInfo*);
VkResult GetMemoryFdKHR(VkDevice, const VkMemoryGetFdInfoKHR*, int*);
void SetDeviceMemoryPriorityEXT(VkDevice, VkDeviceMemory, float);

// bind.cpp
VkResult BindBufferMemory(VkDevice, VkBuffer, VkDeviceMemory, VkDeviceSize);
VkResult BindImageMemory(VkDevice, VkImage, VkDeviceMemory, VkDeviceSize);
VkResult BindBufferMemory2(VkDevice, uint32_t, const VkBindBufferMemoryInfo*);
VkResult BindImageMemory2(VkDevice, uint32_t, const VkBindImageMemoryInfo*);
VkResult BindBufferMemory2KHR(VkDevice, uint32_t, const VkBindBufferMemoryInfo*);
VkResult BindImageMemory2KHR(VkDevice, uint32_t, const VkBindImageMemoryInfo*);
VkResult QueueBindSparse(VkQueue, uint32_t, const VkBindSparseInfo*, VkFence);
VkResult BindAccelerationStructureMemoryNV(VkDevice, uint32_t, const VkBindAccelerationStructureMemoryInfoNV*);
VkResult BindVideoSessionMemoryKHR(VkDevice, VkVideoSessionKHR, uint32_t, const VkBindVideoSessionMemoryInfoKHR*);
void GetAccelerationStructureMemoryRequirementsNV(VkDevice, const VkAccelerationStructureMemoryRequirementsInfoNV*,
                                                  VkMemoryRequirements2KHR*);
VkResult GetVideoSessionMemoryRequirementsKHR(VkDevice, VkVideoSessionKHR, uint32_t*,
                                              VkVideoSessionMemoryRequirementsKHR*);

// queue.cpp
VkResult QueueSubmit(VkQueue, uint32_t, const VkSubmitInfo*, VkFence);
VkResult QueueSubmit2(VkQueue, uint32_t, const VkSubmitInfo2*, VkFence);
VkResult QueueSubmit2KHR(VkQueue, uint32_t, const VkSubmitInfo2*, VkFence);
VkResult QueueWaitIdle(VkQueue);
void QueueBeginDebugUtilsLabelEXT(VkQueue, const VkDebugUtilsLabelEXT*);
void QueueEndDebugUtilsLabelEXT(VkQueue);
void QueueInsertDebugUtilsLabelEXT(VkQueue, const VkDebugUtilsLabelEXT*);
VkResult DeviceWaitIdle(VkDevice);

// dump.cpp
VkResult QueuePresentKHR(VkQueue, const VkPresentInfoKHR*);

// names.cpp
VkResult SetDebugUtilsObjectNameEXT(VkDevice, const VkDebugUtilsObjectNameInfoEXT*);
VkResult SetDebugUtilsObjectTagEXT(VkDevice, const VkDebugUtilsObjectTagInfoEXT*);
VkResult DebugMarkerSetObjectNameEXT(VkDevice, const VkDebugMarkerObjectNameInfoEXT*);
VkResult DebugMarkerSetObjectTagEXT(VkDevice, const VkDebugMarkerObjectTagInfoEXT*);
VkResult SetPrivateData(VkDevice, VkObjectType, uint64_t, VkPrivateDataSlot, uint64_t);
void GetPrivateData(VkDevice, VkObjectType, uint64_t, VkPrivateDataSlot, uint64_t*);
VkResult SetPrivateDataEXT(VkDevice, VkObjectType, uint64_t, VkPrivateDataSlot, uint64_t);
void GetPrivateDataEXT(VkDevice, VkObjectType, uint64_t, VkPrivateDataSlot, uint64_t*);

}  // namespace vma::layer
