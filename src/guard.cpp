// Guard: VMA's corruption detection, done on a plain pointer.
//
// The magic value 0x7F84E666 (VMA_CORRUPTION_DETECTION_MAGIC_VALUE, a float NaN) is written as
// consecutive 32-bit words, so on the little-endian machines Vulkan runs on the bytes read
// 66 E6 84 7F 66 E6 84 7F ... . Words go through memcpy: margins sit at any byte offset (an
// allocation's size need not be a multiple of 4), and a cast to uint32_t* would be unaligned UB.
//
// A margin of `n` bytes holds n / 4 words (VMA writes VMA_DEBUG_MARGIN / 4 words), so a margin
// smaller than 4 bytes holds nothing and is never checked (VMA PR #69). VMA 3.x only guards the
// back of an allocation; we guard both sides (as VMA 2.x did), with the words of each margin
// packed against the allocation, because that is where an overrun or underrun lands first.
//
// Checks report the exact first and last damaged byte, not just "corrupted": a one-byte overrun
// and a 4 KiB memset past the end are different bugs, and the byte range tells them apart.
#include "guard.h"

#include <cstring>

namespace vma::core {

namespace {

constexpr Size kWordSize = sizeof(std::uint32_t);

bool WordIsMagic(const unsigned char* p) {
    std::uint32_t word;
    std::memcpy(&word, p, kWordSize);
    return word == kCorruptionMagic;
}

}  // namespace

void WriteMagic(void* p, Size bytes) {
    auto* out = static_cast<unsigned char*>(p);
    const Size words = bytes / kWordSize;
    for (Size i = 0; i < words; ++i) {
        std::memcpy(out + i * kWordSize, &kCorruptionMagic, kWordSize);
    }
}

std::optional<CorruptRange> CheckMagic(const void* p, Size bytes) {
    const auto* in = static_cast<const unsigned char*>(p);
    const Size words = bytes / kWordSize;

    // Whole words first (the common, clean case costs one compare per word) ...
    Size firstWord = 0;
    while (firstWord < words && WordIsMagic(in + firstWord * kWordSize)) {
        ++firstWord;
    }
    if (firstWord == words) {
        return std::nullopt;
    }
    Size lastWord = words - 1;
    while (lastWord > firstWord && WordIsMagic(in + lastWord * kWordSize)) {
        --lastWord;
    }

    // ... then the exact bytes inside the first and the last damaged word.
    unsigned char magic[kWordSize];  // the bytes a 32-bit store of the magic leaves in memory
    std::memcpy(magic, &kCorruptionMagic, kWordSize);
    CorruptRange range;
    for (Size i = 0; i < kWordSize; ++i) {
        const Size at = firstWord * kWordSize + i;
        if (in[at] != magic[i]) {
            range.first = at;
            break;
        }
    }
    for (Size i = kWordSize; i-- > 0;) {
        const Size at = lastWord * kWordSize + i;
        if (in[at] != magic[i]) {
            range.last = at;
            break;
        }
    }
    return range;
}

void Fill(void* p, Size bytes, std::uint8_t pattern) { std::memset(p, pattern, static_cast<std::size_t>(bytes)); }

namespace {

// The whole words of each margin, packed against the allocation.
Size GuardedBytes(Size margin) { return margin / kWordSize * kWordSize; }

}  // namespace

void WriteMargins(void* allocation, Size size, const MarginLayout& layout) {
    auto* base = static_cast<unsigned char*>(allocation);
    const Size before = GuardedBytes(layout.before);
    if (before != 0) {
        WriteMagic(base - before, before);
    }
    const Size after = GuardedBytes(layout.after);
    if (after != 0) {
        WriteMagic(base + size, after);
    }
}

std::optional<MarginReport> CheckMargins(const void* allocation, Size size, const MarginLayout& layout) {
    const auto* base = static_cast<const unsigned char*>(allocation);
    const Size before = GuardedBytes(layout.before);
    if (before != 0) {
        if (std::optional<CorruptRange> bad = CheckMagic(base - before, before)) {
            MarginReport report;
            report.before = true;
            report.firstRelative = static_cast<std::int64_t>(bad->first) - static_cast<std::int64_t>(before);
            report.lastRelative = static_cast<std::int64_t>(bad->last) - static_cast<std::int64_t>(before);
            return report;
        }
    }
    const Size after = GuardedBytes(layout.after);
    if (after != 0) {
        if (std::optional<CorruptRange> bad = CheckMagic(base + size, after)) {
            MarginReport report;
            report.before = false;
            report.firstRelative = static_cast<std::int64_t>(size + bad->first);
            report.lastRelative = static_cast<std::int64_t>(size + bad->last);
            return report;
        }
    }
    return std::nullopt;
}

}  // namespace vma::core
