// Buffer and image binds (1 and 2) and sparse binds: translate {virtual handle, offset} to
// {block, slice offset + offset}, after checking the bind against the slice.
#include <vector>

#include "faults.h"
#include "intercepts.h"
#include "corruption.h"
#include "layer.h"
#include "memory.h"

namespace vma::layer {
namespace {

// Arrays of up to this many elements are translated on the stack (the usual case is one).
constexpr std::uint32_t kInlineBinds = 8;

template <typename T>
class ScratchArray {
public:
    explicit ScratchArray(std::uint32_t n) {
        if (n > kInlineBinds) {
            heap_.resize(n);
            data_ = heap_.data();
        }
    }
    T* data() { return data_; }
    T& operator[](std::uint32_t i) { return data_[i]; }

private:
    T inline_[kInlineBinds];
    std::vector<T> heap_;
    T* data_ = inline_;
};

// Translates one bind; false when the app's bind is invalid (already reported).
bool TranslateBind(DeviceData& d, const char* caller, std::uint64_t resource, bool image, VkDeviceMemory& memory,
                   VkDeviceSize& offset) {
    MemoryObject* object = d.memory->Lookup(memory, caller);
    if (!object) return false;
    if (!d.memory->CheckBind(caller, *object, resource, image, offset)) return false;
    memory = object->real;
    if (!FaultEnabled(Fault::kSkipBindSliceOffset)) offset += object->offset;
    return true;
}

bool UseKhrBind2(const DeviceData& d) { return d.apiVersion < VK_API_VERSION_1_1; }

}  // namespace

VkResult BindBufferMemory(VkDevice device, VkBuffer buffer, VkDeviceMemory memory, VkDeviceSize offset) {
    DeviceData* d = GetDeviceData(device);
    if (!TranslateBind(*d, "vkBindBufferMemory", reinterpret_cast<std::uint64_t>(buffer), false, memory, offset)) {
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    return d->dispatch.BindBufferMemory(device, buffer, memory, offset);
}

VkResult BindImageMemory(VkDevice device, VkImage image, VkDeviceMemory memory, VkDeviceSize offset) {
    DeviceData* d = GetDeviceData(device);
    if (!TranslateBind(*d, "vkBindImageMemory", reinterpret_cast<std::uint64_t>(image), true, memory, offset)) {
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    return d->dispatch.BindImageMemory(device, image, memory, offset);
}

static VkResult BindBuffers2(VkDevice device, uint32_t count, const VkBindBufferMemoryInfo* infos, const char* caller) {
    DeviceData* d = GetDeviceData(device);
    ScratchArray<VkBindBufferMemoryInfo> out(count);
    for (uint32_t i = 0; i < count; ++i) {
        out[i] = infos[i];  // pNext (device group, VkBindMemoryStatus) is kept as the app gave it
        if (!TranslateBind(*d, caller, reinterpret_cast<std::uint64_t>(infos[i].buffer), false, out[i].memory,
                           out[i].memoryOffset)) {
            return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        }
    }
    return UseKhrBind2(*d) ? d->dispatch.BindBufferMemory2KHR(device, count, out.data())
                           : d->dispatch.BindBufferMemory2(device, count, out.data());
}

static VkResult BindImages2(VkDevice device, uint32_t count, const VkBindImageMemoryInfo* infos, const char* caller) {
    DeviceData* d = GetDeviceData(device);
    ScratchArray<VkBindImageMemoryInfo> out(count);
    for (uint32_t i = 0; i < count; ++i) {
        out[i] = infos[i];
        // With VkBindImageMemorySwapchainInfoKHR the memory is VK_NULL_HANDLE
        // (VUID-VkBindImageMemoryInfo-pNext-01631): nothing to translate.
        if (infos[i].memory == VK_NULL_HANDLE &&
            FindInChain<VkBindImageMemorySwapchainInfoKHR>(infos[i].pNext,
                                                           VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_SWAPCHAIN_INFO_KHR)) {
            continue;
        }
        if (!TranslateBind(*d, caller, reinterpret_cast<std::uint64_t>(infos[i].image), true, out[i].memory,
                           out[i].memoryOffset)) {
            return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        }
    }
    return UseKhrBind2(*d) ? d->dispatch.BindImageMemory2KHR(device, count, out.data())
                           : d->dispatch.BindImageMemory2(device, count, out.data());
}

VkResult BindBufferMemory2(VkDevice device, uint32_t count, const VkBindBufferMemoryInfo* infos) {
    return BindBuffers2(device, count, infos, "vkBindBufferMemory2");
}
VkResult BindBufferMemory2KHR(VkDevice device, uint32_t count, const VkBindBufferMemoryInfo* infos) {
    return BindBuffers2(device, count, infos, "vkBindBufferMemory2KHR");
}
VkResult BindImageMemory2(VkDevice device, uint32_t count, const VkBindImageMemoryInfo* infos) {
    return BindImages2(device, count, infos, "vkBindImageMemory2");
}
VkResult BindImageMemory2KHR(VkDevice device, uint32_t count, const VkBindImageMemoryInfo* infos) {
    return BindImages2(device, count, infos, "vkBindImageMemory2KHR");
}

VkResult QueueBindSparse(VkQueue queue, uint32_t bindInfoCount, const VkBindSparseInfo* pBindInfo, VkFence fence) {
    DeviceData* d = GetDeviceData(queue);
    // Deep copy: every nested array that holds a VkDeviceMemory gets its own translated copy.
    std::vector<VkBindSparseInfo> infos(pBindInfo, pBindInfo + bindInfoCount);
    std::vector<std::vector<VkSparseBufferMemoryBindInfo>> bufferInfos(bindInfoCount);
    std::vector<std::vector<VkSparseImageOpaqueMemoryBindInfo>> opaqueInfos(bindInfoCount);
    std::vector<std::vector<VkSparseImageMemoryBindInfo>> imageInfos(bindInfoCount);
    std::vector<std::vector<VkSparseMemoryBind>> memoryBinds;
    std::vector<std::vector<VkSparseImageMemoryBind>> imageBinds;

    // Sparse binds carry no size check against requirements here; a null memory unbinds.
    auto translate = [&](VkDeviceMemory& memory, VkDeviceSize& offset, VkDeviceSize size) -> bool {
        if (memory == VK_NULL_HANDLE) return true;
        MemoryObject* object = d->memory->Lookup(memory, "vkQueueBindSparse");
        if (!object) return false;
        if (offset >= object->size || size > object->size - offset) {
            d->reporter().Report(Severity::kError, "VMA-bind-invalid",
                                 "vkQueueBindSparse: memory range [" + std::to_string(offset) + ", +" +
                                     std::to_string(size) + ") is outside the allocation of " +
                                     std::to_string(object->size) + " bytes (VUID-VkSparseMemoryBind-memory-01096)",
                                 VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(memory));
            return false;
        }
        memory = object->real;
        offset += object->offset;
        return true;
    };

    for (uint32_t i = 0; i < bindInfoCount; ++i) {
        const VkBindSparseInfo& in = pBindInfo[i];
        bufferInfos[i].assign(in.pBufferBinds, in.pBufferBinds + in.bufferBindCount);
        for (auto& b : bufferInfos[i]) {
            memoryBinds.emplace_back(b.pBinds, b.pBinds + b.bindCount);
            for (auto& m : memoryBinds.back()) {
                if (!translate(m.memory, m.memoryOffset, m.size)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
            }
            b.pBinds = memoryBinds.back().data();
        }
        opaqueInfos[i].assign(in.pImageOpaqueBinds, in.pImageOpaqueBinds + in.imageOpaqueBindCount);
        for (auto& b : opaqueInfos[i]) {
            memoryBinds.emplace_back(b.pBinds, b.pBinds + b.bindCount);
            for (auto& m : memoryBinds.back()) {
                if (!translate(m.memory, m.memoryOffset, m.size)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
            }
            b.pBinds = memoryBinds.back().data();
        }
        imageInfos[i].assign(in.pImageBinds, in.pImageBinds + in.imageBindCount);
        for (auto& b : imageInfos[i]) {
            imageBinds.emplace_back(b.pBinds, b.pBinds + b.bindCount);
            for (auto& m : imageBinds.back()) {
                if (!translate(m.memory, m.memoryOffset, 0)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
            }
            b.pBinds = imageBinds.back().data();
        }
        infos[i].pBufferBinds = bufferInfos[i].data();
        infos[i].pImageOpaqueBinds = opaqueInfos[i].data();
        infos[i].pImageBinds = imageInfos[i].data();
    }
    auto lock = LockSharedQueue(*d, queue);
    return d->dispatch.QueueBindSparse(queue, bindInfoCount, infos.data(), fence);
}

// Binds that carry {memory, offset} for objects whose requirements come from their own queries
// (ray-tracing acceleration structures, video sessions): translated after a range check against
// the slice; `size` 0 means "unknown here".
static bool TranslateRange(DeviceData& d, const char* caller, VkDeviceMemory& memory, VkDeviceSize& offset,
                           VkDeviceSize size) {
    MemoryObject* object = d.memory->Lookup(memory, caller);
    if (!object) return false;
    if (offset >= object->size || size > object->size - offset) {
        d.reporter().Report(Severity::kError, "VMA-bind-invalid",
                            std::string(caller) + ": memory range [" + std::to_string(offset) + ", +" +
                                std::to_string(size) + ") is outside the allocation of " +
                                std::to_string(object->size) + " bytes",
                            VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(memory));
        return false;
    }
    memory = object->real;
    if (!FaultEnabled(Fault::kSkipBindSliceOffset)) offset += object->offset;
    return true;
}

VkResult BindAccelerationStructureMemoryNV(VkDevice device, uint32_t count,
                                           const VkBindAccelerationStructureMemoryInfoNV* infos) {
    DeviceData* d = GetDeviceData(device);
    ScratchArray<VkBindAccelerationStructureMemoryInfoNV> out(count);
    for (uint32_t i = 0; i < count; ++i) {
        out[i] = infos[i];
        if (!TranslateRange(*d, "vkBindAccelerationStructureMemoryNV", out[i].memory, out[i].memoryOffset, 0)) {
            return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        }
    }
    return d->dispatch.BindAccelerationStructureMemoryNV(device, count, out.data());
}

VkResult BindVideoSessionMemoryKHR(VkDevice device, VkVideoSessionKHR session, uint32_t count,
                                   const VkBindVideoSessionMemoryInfoKHR* infos) {
    DeviceData* d = GetDeviceData(device);
    ScratchArray<VkBindVideoSessionMemoryInfoKHR> out(count);
    for (uint32_t i = 0; i < count; ++i) {
        out[i] = infos[i];
        if (!TranslateRange(*d, "vkBindVideoSessionMemoryKHR", out[i].memory, out[i].memoryOffset, out[i].memorySize)) {
            return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        }
    }
    return d->dispatch.BindVideoSessionMemoryKHR(device, session, count, out.data());
}

}  // namespace vma::layer
