// The interface every block algorithm implements (TLSF, linear, buddy). One Metadata describes
// how one block of `size` bytes is divided into allocations and free ranges; it never touches
// memory. Not thread-safe: the owner (VirtualBlock, Pool) serialises access.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "statistics.h"
#include "types.h"

namespace vma::core {

struct MetadataConfig {
    Size size = 0;                     // block size in bytes (or any unit for virtual blocks)
    Size bufferImageGranularity = 1;   // power of two; 1 disables granularity handling
    Size marginAfter = 0;              // bytes kept free after every allocation (guard margin)
    Size marginBefore = 0;             // bytes kept free before every allocation
    bool isVirtual = false;            // virtual TLSF uses the finer small-size classes
};

// A placement found by CreateRequest and not yet committed. Fields other than offset/size
// are private to the algorithm that made it.
struct AllocationRequest {
    Size offset = 0;        // where the allocation (not its front margin) starts
    Size size = 0;          // the size asked for
    AllocHandle item = 0;   // algorithm-private: the node / suballocation chosen
    Size algorithmData = 0; // algorithm-private
    std::uint32_t type = 0; // algorithm-private (e.g. linear: which vector / end)
};

// One range as seen by a walk in address order.
struct RangeInfo {
    Size offset = 0;
    Size size = 0;
    bool free = true;
    SuballocKind kind = SuballocKind::kFree;
    AllocHandle handle = kNullHandle;  // kNullHandle for free ranges
    void* userData = nullptr;
};

class Metadata {
public:
    virtual ~Metadata() = default;

    virtual void Init(const MetadataConfig& config) = 0;
    virtual Size GetSize() const = 0;
    virtual std::size_t GetAllocationCount() const = 0;
    virtual std::size_t GetFreeRegionsCount() const = 0;
    virtual Size GetSumFreeSize() const = 0;
    // An upper bound (≤ GetSumFreeSize()) of the largest free range: no request larger than this
    // can succeed, so a pool may skip the block without searching it. Algorithms that can bound
    // it more tightly in O(1) override this; the default is the sum of free bytes.
    virtual Size GetMaxFreeRangeUpperBound() const { return GetSumFreeSize(); }
    virtual bool IsEmpty() const = 0;

    // Finds a place for `size` bytes aligned to `alignment` (power of two). `flags` are AllocFlags
    // (strategy, upper address). Returns false when the block has no room.
    virtual bool CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                               AllocationRequest* request) = 0;
    // Commits a request made by the last CreateRequest with no other change in between.
    virtual AllocHandle Commit(const AllocationRequest& request, SuballocKind kind, void* userData) = 0;
    // CreateRequest + Commit in one call (the hot path of VirtualBlock and Pool). Returns the handle
    // and sets *offset, or returns kNullHandle and leaves *offset alone when there is no room.
    // The default implementation does exactly the two calls; algorithms may override it.
    virtual AllocHandle Allocate(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, void* userData,
                                 Size* offset);
    virtual void Free(AllocHandle handle) = 0;
    virtual void Clear() = 0;

    virtual Size GetOffset(AllocHandle handle) const = 0;
    virtual Size GetAllocationSize(AllocHandle handle) const = 0;
    virtual void* GetUserData(AllocHandle handle) const = 0;
    virtual void SetUserData(AllocHandle handle, void* userData) = 0;

    // Every range (allocations and free ranges, margins counted as free) in increasing offset order.
    virtual void Walk(const std::function<void(const RangeInfo&)>& visit) const = 0;

    // Adds this block (blockCount += 1) to the statistics.
    virtual void AddStatistics(Statistics& stats) const = 0;
    // Default: one Walk over the block (every algorithm's ranges already say what is free).
    virtual void AddDetailedStatistics(DetailedStatistics& stats) const;

    // Checks every invariant of the algorithm. On failure returns false and, if `why` is not null,
    // a human-readable description of the first broken invariant.
    virtual bool Validate(std::string* why = nullptr) const = 0;
};

std::unique_ptr<Metadata> CreateMetadata(Algorithm algorithm);

}  // namespace vma::core
