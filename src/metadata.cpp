// Shared pieces of the Metadata interface: kind names, the default one-call Allocate, and the
// factory that picks the algorithm.
#include "metadata.h"

#include "buddy_metadata.h"
#include "linear_metadata.h"
#include "tlsf_metadata.h"

namespace vma::core {

const char* SuballocKindName(SuballocKind kind) {
    switch (kind) {
        case SuballocKind::kFree:
            return "FREE";
        case SuballocKind::kUnknown:
            return "UNKNOWN";
        case SuballocKind::kBuffer:
            return "BUFFER";
        case SuballocKind::kImageUnknown:
            return "IMAGE_UNKNOWN";
        case SuballocKind::kImageLinear:
            return "IMAGE_LINEAR";
        case SuballocKind::kImageOptimal:
            return "IMAGE_OPTIMAL";
    }
    return "UNKNOWN";
}

AllocHandle Metadata::Allocate(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, void* userData,
                               Size* offset) {
    AllocationRequest request;
    if (!CreateRequest(size, alignment, kind, flags, &request)) return kNullHandle;
    const AllocHandle handle = Commit(request, kind, userData);
    if (handle != kNullHandle) *offset = request.offset;
    return handle;
}

std::unique_ptr<Metadata> CreateMetadata(Algorithm algorithm) {
    switch (algorithm) {
        case Algorithm::kTlsf:
            return std::make_unique<TlsfMetadata>();
        case Algorithm::kLinear:
            return std::make_unique<LinearMetadata>();
        case Algorithm::kBuddy:
            return std::make_unique<BuddyMetadata>();
    }
    return nullptr;
}

void Metadata::AddDetailedStatistics(DetailedStatistics& stats) const {
    stats.statistics.blockCount += 1;
    stats.statistics.blockBytes += GetSize();
    Walk([&](const RangeInfo& r) {
        if (r.free) {
            stats.AddUnusedRange(r.size);
        } else {
            stats.AddAllocation(r.size);
        }
    });
}

}  // namespace vma::core
