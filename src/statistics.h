// Statistics with VMA 3.x semantics (VmaStatistics / VmaDetailedStatistics).
#pragma once

#include "types.h"

namespace vma::core {

struct Statistics {
    std::uint32_t blockCount = 0;
    std::uint32_t allocationCount = 0;
    Size blockBytes = 0;
    Size allocationBytes = 0;

    void Add(const Statistics& o);
};

struct DetailedStatistics {
    Statistics statistics;
    std::uint32_t unusedRangeCount = 0;
    Size allocationSizeMin = kWholeSize;  // kWholeSize when there is no allocation (VMA: VK_WHOLE_SIZE)
    Size allocationSizeMax = 0;
    Size unusedRangeSizeMin = kWholeSize;
    Size unusedRangeSizeMax = 0;

    void AddAllocation(Size size);
    void AddUnusedRange(Size size);
    void Add(const DetailedStatistics& o);
};

}  // namespace vma::core
