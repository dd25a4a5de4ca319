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
    Size before = 0;  // bytes of margin in front of the allocation (whole 4-byte words are guarded)
    Size after = 0;   // bytes of margin after the allocation (whole 4-byte words are guarded)
};

// The first and last corrupted byte, relative to the start of the checked range.
struct CorruptRange {
    Size first = 0;
    Size last = 0;
};

// Writes the magic value as consecutive 32-bit words over [p, p + bytes). Only whole words are
// written: with bytes % 4 != 0 the trailing 1-3 bytes are left alone, and fewer than 4 bytes
// write nothing (as in VMA, where VMA_DEBUG_MARGIN / 4 words are written). `p` need not be aligned.
void WriteMagic(void* p, Size bytes);
// Compares the whole words of [p, p + bytes) with the magic pattern. Returns the first and last
// byte that differ (bytes in between may be intact), or nothing when every byte matches.
std::optional<CorruptRange> CheckMagic(const void* p, Size bytes);
void Fill(void* p, Size bytes, std::uint8_t pattern);

// Writes both margins of the allocation whose first byte is at `allocation` and size is `size`:
// magic words ending exactly at `allocation` (front margin) and starting exactly at
// `allocation + size` (back margin). A margin of fewer than 4 bytes writes nothing; a margin that
// is not a multiple of 4 gets its whole words next to the allocation (where an overrun lands first).
// The caller guarantees that [allocation - layout.before, allocation + size + layout.after) is
// mapped memory it owns.
void WriteMargins(void* allocation, Size size, const MarginLayout& layout);

struct MarginReport {
    bool before = false;             // true: the front margin is damaged; false: the back margin
    std::int64_t firstRelative = 0;  // first damaged byte, relative to the allocation's first byte
    std::int64_t lastRelative = 0;   // last damaged byte; negative offsets lie before the allocation
};
// Checks both margins (exactly the words WriteMargins writes); returns the first damaged one in
// address order (the front margin when both are damaged) with its exact byte range.
std::optional<MarginReport> CheckMargins(const void* allocation, Size size, const MarginLayout& layout);

}  // namespace vma::core
