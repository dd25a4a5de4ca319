// Guard: margins around allocations, VMA's corruption-detection magic and fill patterns.
// Works on a plain mapped pointer; knows nothing of Vulkan.
#pragma once

#include <cstddef>
#include <optional>

#include "types.h"

namespace vma::core {

constexpr std::uint32_t kCorruptionMagic = 0x7F84E666;  // VMA_CORRUPTION_DETECTION_MAGIC_VALUE
constexpr std::uint8_t kFillCreated = 0xDC;             // VMA_ALLOCATION_FILL_PATTERN_CREATED
constexpr std::uint8_t kFillDestroyed = 0xEF;           // VMA_ALLOCATION_FILL_PATTERN_DESTROYED

// Where the margins of one allocation lie, relative to the allocation's first byte.
struct MarginLayout {
    Size before = 0;  // bytes of margin in front of the allocation (multiple of 4)
    Size after = 0;   // bytes of margin after the allocation (multiple of 4)
};

// The first and last corrupted byte, relative to the start of the checked range.
struct CorruptRange {
    Size first = 0;
    Size last = 0;
};

// Writes the magic value as consecutive 32-bit words over [p, p + bytes); bytes % 4 == 0.
void WriteMagic(void* p, Size bytes);
// Returns the exact range of bytes that differ from the magic pattern, if any.
std::optional<CorruptRange> CheckMagic(const void* p, Size bytes);
void Fill(void* p, Size bytes, std::uint8_t pattern);

// Writes both margins of the allocation whose first byte is at `allocation` and size is `size`.
void WriteMargins(void* allocation, Size size, const MarginLayout& layout);

struct MarginReport {
    bool before = false;  // which margin is damaged
    CorruptRange range;   // relative to the allocation's first byte (negative offsets are before it)
    std::int64_t firstRelative = 0;
    std::int64_t lastRelative = 0;
};
// Checks both margins; returns the first damaged one with the exact byte range.
std::optional<MarginReport> CheckMargins(const void* allocation, Size size, const MarginLayout& layout);

}  // namespace vma::core
