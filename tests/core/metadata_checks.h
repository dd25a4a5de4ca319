// Checks shared by the metadata tests: everything a caller can observe about one block must agree
// with the allocations the test believes are live.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "metadata.h"

namespace vma::core::testing {

struct LiveAlloc {
    Size offset = 0;
    Size size = 0;
    void* userData = nullptr;
};
using LiveMap = std::map<AllocHandle, LiveAlloc>;

inline std::vector<RangeInfo> Ranges(const Metadata& md) {
    std::vector<RangeInfo> ranges;
    md.Walk([&](const RangeInfo& r) { ranges.push_back(r); });
    return ranges;
}

// Validate(); the walk tiles [0, size) in address order with non-empty ranges; it lists exactly the
// live allocations (offset, size, user data, handle); used + free = size; counts and statistics
// agree with the walk; every allocation has marginBefore free bytes in front of it and marginAfter
// free bytes behind it, and neighbours' margins do not overlap.
inline ::testing::AssertionResult CheckBlock(const Metadata& md, const LiveMap& live, Size marginBefore = 0,
                                             Size marginAfter = 0) {
    std::string why;
    if (!md.Validate(&why)) return ::testing::AssertionFailure() << "Validate failed: " << why;

    const std::vector<RangeInfo> ranges = Ranges(md);
    Size cursor = 0;
    Size freeBytes = 0;
    Size usedBytes = 0;
    std::size_t freeRanges = 0;
    std::size_t allocations = 0;
    bool havePrev = false;
    Size prevEnd = 0;
    for (const RangeInfo& r : ranges) {
        if (r.offset != cursor) {
            return ::testing::AssertionFailure()
                   << "walk not contiguous/in order at offset " << r.offset << ", expected " << cursor;
        }
        if (r.size == 0) return ::testing::AssertionFailure() << "empty range at " << r.offset;
        cursor += r.size;
        if (r.free) {
            if (r.handle != kNullHandle || r.kind != SuballocKind::kFree) {
                return ::testing::AssertionFailure() << "free range at " << r.offset << " has a handle or a kind";
            }
            freeBytes += r.size;
            ++freeRanges;
            continue;
        }
        ++allocations;
        usedBytes += r.size;
        auto it = live.find(r.handle);
        if (it == live.end()) return ::testing::AssertionFailure() << "walk lists unknown handle " << r.handle;
        if (it->second.offset != r.offset || it->second.size != r.size || it->second.userData != r.userData) {
            return ::testing::AssertionFailure() << "walk disagrees with allocation at " << it->second.offset;
        }
        if (md.GetOffset(r.handle) != r.offset || md.GetAllocationSize(r.handle) != r.size ||
            md.GetUserData(r.handle) != r.userData) {
            return ::testing::AssertionFailure() << "getters disagree with walk at " << r.offset;
        }
        const Size frontLimit = havePrev ? prevEnd + marginAfter + marginBefore : marginBefore;
        if (r.offset < frontLimit) {
            return ::testing::AssertionFailure() << "margin violated in front of allocation at " << r.offset;
        }
        havePrev = true;
        prevEnd = r.offset + r.size;
    }
    if (cursor != md.GetSize()) return ::testing::AssertionFailure() << "walk covers " << cursor << " bytes";
    if (havePrev && prevEnd + marginAfter > md.GetSize()) {
        return ::testing::AssertionFailure() << "margin after the last allocation leaves the block";
    }
    if (allocations != live.size() || allocations != md.GetAllocationCount()) {
        return ::testing::AssertionFailure() << "allocation count: walk " << allocations << ", expected " << live.size()
                                             << ", metadata " << md.GetAllocationCount();
    }
    if (usedBytes + freeBytes != md.GetSize() || freeBytes != md.GetSumFreeSize()) {
        return ::testing::AssertionFailure() << "used " << usedBytes << " + free " << freeBytes
                                             << " != size, or GetSumFreeSize " << md.GetSumFreeSize();
    }
    if (freeRanges != md.GetFreeRegionsCount()) return ::testing::AssertionFailure() << "free region count";
    if (md.IsEmpty() != live.empty()) return ::testing::AssertionFailure() << "IsEmpty";

    Statistics stats;
    md.AddStatistics(stats);
    if (stats.blockCount != 1 || stats.blockBytes != md.GetSize() || stats.allocationCount != allocations ||
        stats.allocationBytes != usedBytes) {
        return ::testing::AssertionFailure() << "AddStatistics disagrees with the walk";
    }
    DetailedStatistics detailed;
    md.AddDetailedStatistics(detailed);
    if (detailed.statistics.blockCount != 1 || detailed.statistics.blockBytes != md.GetSize() ||
        detailed.statistics.allocationCount != allocations || detailed.statistics.allocationBytes != usedBytes ||
        detailed.unusedRangeCount != freeRanges) {
        return ::testing::AssertionFailure() << "AddDetailedStatistics disagrees with the walk";
    }
    return ::testing::AssertionSuccess();
}

// A fixture over one metadata object of type T: every step is followed by CheckBlock, and the
// fixture keeps the shadow map of live allocations that CheckBlock compares against.
template <typename T>
class MetadataFixture : public ::testing::Test {
  protected:
    void Init(Size size, Size granularity = 1, Size before = 0, Size after = 0, bool isVirtual = false) {
        MetadataConfig config;
        config.size = size;
        config.bufferImageGranularity = granularity;
        config.marginBefore = before;
        config.marginAfter = after;
        config.isVirtual = isVirtual;
        md_.Init(config);
        before_ = before;
        after_ = after;
        live_.clear();
        ASSERT_TRUE(Check());
    }

    // Returns kNullHandle when the request fails. Checks alignment and the whole block either way.
    AllocHandle Alloc(Size size, Size alignment = 1, SuballocKind kind = SuballocKind::kBuffer,
                      std::uint32_t flags = 0) {
        AllocationRequest request;
        if (!md_.CreateRequest(size, alignment, kind, flags, &request)) {
            EXPECT_TRUE(Check());
            return kNullHandle;
        }
        EXPECT_EQ(request.offset % (alignment == 0 ? 1 : alignment), 0u) << "misaligned offset " << request.offset;
        EXPECT_EQ(request.size, size);
        void* userData = &userDataTokens_[live_.size() % 16];
        const AllocHandle handle = md_.Commit(request, kind, userData);
        EXPECT_NE(handle, kNullHandle);
        EXPECT_EQ(live_.count(handle), 0u);
        live_[handle] = {request.offset, size, userData};
        EXPECT_TRUE(Check());
        return handle;
    }
    void Free(AllocHandle handle) {
        ASSERT_EQ(live_.count(handle), 1u);
        md_.Free(handle);
        live_.erase(handle);
        EXPECT_TRUE(Check());
    }
    Size Offset(AllocHandle handle) const { return live_.at(handle).offset; }
    ::testing::AssertionResult Check() const { return CheckBlock(md_, live_, before_, after_); }

    T md_;
    LiveMap live_;
    Size before_ = 0;
    Size after_ = 0;
    int userDataTokens_[16] = {};
};

}  // namespace vma::core::testing
