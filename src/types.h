// Basic types of the allocator core. The core never includes a Vulkan header: sizes are plain
// 64-bit integers and the few Vulkan-shaped enums are restated here.
#pragma once

#include <cstdint>
#include <limits>

namespace vma::core {

using Size = std::uint64_t;

// Opaque handle to one allocation inside one Metadata. 0 is the null handle.
using AllocHandle = std::uint64_t;
constexpr AllocHandle kNullHandle = 0;

constexpr Size kWholeSize = std::numeric_limits<Size>::max();

enum class Algorithm : std::uint8_t { kTlsf = 0, kLinear = 1, kBuddy = 2 };

// What lives in a range; decides bufferImageGranularity conflicts (VMA's VmaSuballocationType).
enum class SuballocKind : std::uint8_t {
    kFree = 0,
    kUnknown = 1,
    kBuffer = 2,
    kImageUnknown = 3,
    kImageLinear = 4,
    kImageOptimal = 5,
};

const char* SuballocKindName(SuballocKind kind);  // "FREE", "UNKNOWN", "BUFFER", ... (VMA JSON names)

// Allocation flags, bit-compatible with VmaVirtualAllocationCreateFlags.
enum AllocFlags : std::uint32_t {
    kAllocUpperAddress = 0x40,         // linear double stack: allocate from the top
    kAllocStrategyMinMemory = 0x10000,  // best fit
    kAllocStrategyMinTime = 0x20000,    // first fit from the good-enough bucket
    kAllocStrategyMinOffset = 0x40000,  // lowest offset
};

constexpr bool IsPow2(Size x) { return x != 0 && (x & (x - 1)) == 0; }
constexpr Size AlignUp(Size x, Size a) { return (x + a - 1) & ~(a - 1); }      // a: power of two
constexpr Size AlignDown(Size x, Size a) { return x & ~(a - 1); }               // a: power of two

}  // namespace vma::core
