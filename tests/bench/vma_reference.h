// VMA's own VmaVirtualBlock behind the interface tests/bench/core_ab.cpp drives, so that
// scripts/core-ab.sh can time the project's core against VMA in one binary, run alternately
// (`scripts/core-ab.sh vma=DIR ...`). vk_mem_alloc.h is not part of this project: DIR is a folder
// that holds it (VMA's include/), and the script compiles its implementation next to core_ab.cpp.
#pragma once

#include <cstdint>
#include <cstdlib>

// core_ab.cpp includes this header with `vma` defined as a namespace name; VMA's header must see
// its own names.
#pragma push_macro("vma")
#undef vma
#include <vk_mem_alloc.h>
#pragma pop_macro("vma")

namespace vma::core {

enum class Algorithm { kTlsf, kLinear };

struct VirtualBlockCreateInfo {
    std::uint64_t size = 0;
    Algorithm algorithm = Algorithm::kTlsf;
};

class VirtualBlock {
public:
    explicit VirtualBlock(const VirtualBlockCreateInfo& info) {
        VmaVirtualBlockCreateInfo createInfo = {};
        createInfo.size = info.size;
        if (info.algorithm == Algorithm::kLinear) createInfo.flags = VMA_VIRTUAL_BLOCK_CREATE_LINEAR_ALGORITHM_BIT;
        if (vmaCreateVirtualBlock(&createInfo, &block_) != VK_SUCCESS) std::abort();
    }
    ~VirtualBlock() { vmaDestroyVirtualBlock(block_); }
    VirtualBlock(const VirtualBlock&) = delete;
    VirtualBlock& operator=(const VirtualBlock&) = delete;

    // flags are the project's allocation flags; the strategy bits have VMA's values
    // (VMA_VIRTUAL_ALLOCATION_CREATE_STRATEGY_MIN_MEMORY_BIT 0x10000, MIN_TIME 0x20000). The offset
    // is asked for, as the project's VirtualBlock always returns it.
    bool Allocate(std::uint64_t size, std::uint64_t alignment, std::uint32_t flags, std::uint64_t* handle,
                  std::uint64_t* offset) {
        VmaVirtualAllocationCreateInfo createInfo = {};
        createInfo.size = size;
        createInfo.alignment = alignment;
        createInfo.flags = flags;
        VmaVirtualAllocation allocation = VK_NULL_HANDLE;
        const VkResult result = vmaVirtualAllocate(block_, &createInfo, &allocation, offset);
        *handle = reinterpret_cast<std::uint64_t>(allocation);
        return result == VK_SUCCESS;
    }
    void Free(std::uint64_t handle) { vmaVirtualFree(block_, reinterpret_cast<VmaVirtualAllocation>(handle)); }
    bool IsEmpty() const { return vmaIsVirtualBlockEmpty(block_) == VK_TRUE; }

private:
    VmaVirtualBlock block_ = VK_NULL_HANDLE;
};

}  // namespace vma::core
