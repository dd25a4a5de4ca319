// Debug names, tags and private data on VkDeviceMemory. For pooled handles the driver never sees
// the virtual handle, and naming a shared block after one app object would mislead, so the layer
// keeps names (for dumps and reports) and private data itself; own allocations pass through with
// the real handle.
#include "intercepts.h"
#include "layer.h"
#include "memory.h"

namespace vma::layer {
namespace {

// Resolves a generic object handle. Returns false if the object is pooled (handled by the layer)
// and replaces `handle` with the real one for own allocations.
enum class Route { kDriver, kLayer, kInvalid };

Route RouteMemoryHandle(DeviceData& d, const char* caller, std::uint64_t& handle) {
    MemoryObject* object = d.memory->Lookup(reinterpret_cast<VkDeviceMemory>(handle), caller);
    if (!object) return Route::kInvalid;
    object->hasSideData.store(true, std::memory_order_relaxed);
    if (object->pooled) return Route::kLayer;
    handle = reinterpret_cast<std::uint64_t>(object->real);
    return Route::kDriver;
}

void StoreName(DeviceData& d, std::uint64_t handle, const char* name) {
    std::lock_guard<std::mutex> lock(d.memory->namesMutex);
    if (name && *name) {
        d.memory->names[handle] = name;
    } else {
        d.memory->names.erase(handle);
    }
}

}  // namespace

VkResult SetDebugUtilsObjectNameEXT(VkDevice device, const VkDebugUtilsObjectNameInfoEXT* pNameInfo) {
    DeviceData* d = GetDeviceData(device);
    if (pNameInfo->objectType != VK_OBJECT_TYPE_DEVICE_MEMORY) {
        return d->dispatch.SetDebugUtilsObjectNameEXT(device, pNameInfo);
    }
    VkDebugUtilsObjectNameInfoEXT info = *pNameInfo;
    const std::uint64_t virtualHandle = info.objectHandle;
    switch (RouteMemoryHandle(*d, "vkSetDebugUtilsObjectNameEXT", info.objectHandle)) {
        case Route::kInvalid: return VK_ERROR_OUT_OF_HOST_MEMORY;
        case Route::kLayer: StoreName(*d, virtualHandle, info.pObjectName); return VK_SUCCESS;
        case Route::kDriver: StoreName(*d, virtualHandle, info.pObjectName); break;
    }
    return d->dispatch.SetDebugUtilsObjectNameEXT(device, &info);
}

VkResult SetDebugUtilsObjectTagEXT(VkDevice device, const VkDebugUtilsObjectTagInfoEXT* pTagInfo) {
    DeviceData* d = GetDeviceData(device);
    if (pTagInfo->objectType != VK_OBJECT_TYPE_DEVICE_MEMORY) return d->dispatch.SetDebugUtilsObjectTagEXT(device, pTagInfo);
    VkDebugUtilsObjectTagInfoEXT info = *pTagInfo;
    switch (RouteMemoryHandle(*d, "vkSetDebugUtilsObjectTagEXT", info.objectHandle)) {
        case Route::kInvalid: return VK_ERROR_OUT_OF_HOST_MEMORY;
        case Route::kLayer: return VK_SUCCESS;  // tags are opaque to the layer; nothing to keep
        case Route::kDriver: break;
    }
    return d->dispatch.SetDebugUtilsObjectTagEXT(device, &info);
}

VkResult DebugMarkerSetObjectNameEXT(VkDevice device, const VkDebugMarkerObjectNameInfoEXT* pNameInfo) {
    DeviceData* d = GetDeviceData(device);
    if (pNameInfo->objectType != VK_DEBUG_REPORT_OBJECT_TYPE_DEVICE_MEMORY_EXT) {
        return d->dispatch.DebugMarkerSetObjectNameEXT(device, pNameInfo);
    }
    VkDebugMarkerObjectNameInfoEXT info = *pNameInfo;
    const std::uint64_t virtualHandle = info.object;
    switch (RouteMemoryHandle(*d, "vkDebugMarkerSetObjectNameEXT", info.object)) {
        case Route::kInvalid: return VK_ERROR_OUT_OF_HOST_MEMORY;
        case Route::kLayer: StoreName(*d, virtualHandle, info.pObjectName); return VK_SUCCESS;
        case Route::kDriver: StoreName(*d, virtualHandle, info.pObjectName); break;
    }
    return d->dispatch.DebugMarkerSetObjectNameEXT(device, &info);
}

VkResult DebugMarkerSetObjectTagEXT(VkDevice device, const VkDebugMarkerObjectTagInfoEXT* pTagInfo) {
    DeviceData* d = GetDeviceData(device);
    if (pTagInfo->objectType != VK_DEBUG_REPORT_OBJECT_TYPE_DEVICE_MEMORY_EXT) {
        return d->dispatch.DebugMarkerSetObjectTagEXT(device, pTagInfo);
    }
    VkDebugMarkerObjectTagInfoEXT info = *pTagInfo;
    switch (RouteMemoryHandle(*d, "vkDebugMarkerSetObjectTagEXT", info.object)) {
        case Route::kInvalid: return VK_ERROR_OUT_OF_HOST_MEMORY;
        case Route::kLayer: return VK_SUCCESS;
        case Route::kDriver: break;
    }
    return d->dispatch.DebugMarkerSetObjectTagEXT(device, &info);
}

// Private data: vkSetPrivateData is core in 1.3 and VK_EXT_private_data before; call down through
// the entry point that matches what the app used.
static VkResult SetPrivateDataCommon(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot,
                                     uint64_t data, bool ext) {
    DeviceData* d = GetDeviceData(device);
    if (type == VK_OBJECT_TYPE_DEVICE_MEMORY) {
        const std::uint64_t virtualHandle = handle;
        switch (RouteMemoryHandle(*d, "vkSetPrivateData", handle)) {
            case Route::kInvalid: return VK_ERROR_OUT_OF_HOST_MEMORY;
            case Route::kLayer: {
                std::lock_guard<std::mutex> lock(d->memory->namesMutex);
                d->memory->privateData[{virtualHandle, reinterpret_cast<std::uint64_t>(slot)}] = data;
                return VK_SUCCESS;
            }
            case Route::kDriver: break;
        }
    }
    return ext ? d->dispatch.SetPrivateDataEXT(device, type, handle, slot, data)
               : d->dispatch.SetPrivateData(device, type, handle, slot, data);
}

static void GetPrivateDataCommon(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot,
                                 uint64_t* pData, bool ext) {
    DeviceData* d = GetDeviceData(device);
    if (type == VK_OBJECT_TYPE_DEVICE_MEMORY) {
        const std::uint64_t virtualHandle = handle;
        switch (RouteMemoryHandle(*d, "vkGetPrivateData", handle)) {
            case Route::kInvalid: *pData = 0; return;
            case Route::kLayer: {
                std::lock_guard<std::mutex> lock(d->memory->namesMutex);
                auto it = d->memory->privateData.find({virtualHandle, reinterpret_cast<std::uint64_t>(slot)});
                *pData = it == d->memory->privateData.end() ? 0 : it->second;
                return;
            }
            case Route::kDriver: break;
        }
    }
    if (ext) {
        d->dispatch.GetPrivateDataEXT(device, type, handle, slot, pData);
    } else {
        d->dispatch.GetPrivateData(device, type, handle, slot, pData);
    }
}

VkResult SetPrivateData(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot, uint64_t data) {
    return SetPrivateDataCommon(device, type, handle, slot, data, false);
}
VkResult SetPrivateDataEXT(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot, uint64_t data) {
    return SetPrivateDataCommon(device, type, handle, slot, data, true);
}
void GetPrivateData(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot, uint64_t* pData) {
    GetPrivateDataCommon(device, type, handle, slot, pData, false);
}
void GetPrivateDataEXT(VkDevice device, VkObjectType type, uint64_t handle, VkPrivateDataSlot slot, uint64_t* pData) {
    GetPrivateDataCommon(device, type, handle, slot, pData, true);
}

}  // namespace vma::layer
