// Statistics with VMA 3.x semantics: sums of counts and bytes; minimum sizes stay kWholeSize and
// maximum sizes 0 while nothing has been counted.
#include "statistics.h"

#include <algorithm>

namespace vma::core {

void Statistics::Add(const Statistics& o) {
    blockCount += o.blockCount;
    allocationCount += o.allocationCount;
    blockBytes += o.blockBytes;
    allocationBytes += o.allocationBytes;
}

void DetailedStatistics::AddAllocation(Size size) {
    statistics.allocationCount += 1;
    statistics.allocationBytes += size;
    allocationSizeMin = std::min(allocationSizeMin, size);
    allocationSizeMax = std::max(allocationSizeMax, size);
}

void DetailedStatistics::AddUnusedRange(Size size) {
    unusedRangeCount += 1;
    unusedRangeSizeMin = std::min(unusedRangeSizeMin, size);
    unusedRangeSizeMax = std::max(unusedRangeSizeMax, size);
}

void DetailedStatistics::Add(const DetailedStatistics& o) {
    statistics.Add(o.statistics);
    unusedRangeCount += o.unusedRangeCount;
    allocationSizeMin = std::min(allocationSizeMin, o.allocationSizeMin);
    allocationSizeMax = std::max(allocationSizeMax, o.allocationSizeMax);
    unusedRangeSizeMin = std::min(unusedRangeSizeMin, o.unusedRangeSizeMin);
    unusedRangeSizeMax = std::max(unusedRangeSizeMax, o.unusedRangeSizeMax);
}

}  // namespace vma::core
