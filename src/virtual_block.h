// VirtualBlock: one block's allocation algorithm with nothing behind it, like VmaVirtualBlock.
// Offsets are in whatever unit the caller chooses. Not thread-safe.
#pragma once

#include <memory>

#include "metadata.h"
#include "tlsf_metadata.h"

namespace vma::core {

struct VirtualBlockCreateInfo {
    Size size = 0;
    Algorithm algorithm = Algorithm::kTlsf;
};

class VirtualBlock {
public:
    explicit VirtualBlock(const VirtualBlockCreateInfo& info);
    ~VirtualBlock();
    VirtualBlock(const VirtualBlock&) = delete;
    VirtualBlock& operator=(const VirtualBlock&) = delete;

    // alignment 0 means 1. On failure returns false, *handle = kNullHandle, *offset = kWholeSize.
    bool Allocate(Size size, Size alignment, std::uint32_t flags, AllocHandle* handle, Size* offset,
                  void* userData = nullptr) {
        // TLSF (the default) is called directly, not through the Metadata vtable; it takes size 0
        // and alignment 0 itself.
        if (tlsf_ != nullptr) {
            const TlsfMetadata::Placed r = tlsf_->AllocateVirtual(size, alignment, flags, userData);
            *handle = r.handle;
            if (offset) *offset = r.offset;
            return r.handle != kNullHandle;
        }
        Size placed = kWholeSize;
        AllocHandle h = kNullHandle;
        if (size != 0) {
            h = metadata_->Allocate(size, alignment == 0 ? 1 : alignment, SuballocKind::kUnknown, flags, userData,
                                    &placed);
        }
        *handle = h;
        if (offset) *offset = h != kNullHandle ? placed : kWholeSize;
        return h != kNullHandle;
    }
    void Free(AllocHandle handle) {  // kNullHandle is a no-op
        if (handle == kNullHandle) return;
        if (tlsf_ != nullptr) {
            tlsf_->FreeVirtual(handle);  // a VirtualBlock's TLSF block always has the virtual layout
        } else {
            metadata_->Free(handle);
        }
    }
    void Clear();
    bool IsEmpty() const;

    Size GetOffset(AllocHandle handle) const;
    Size GetAllocationSize(AllocHandle handle) const;
    void* GetUserData(AllocHandle handle) const;
    void SetUserData(AllocHandle handle, void* userData);

    Statistics GetStatistics() const;
    DetailedStatistics CalculateDetailedStatistics() const;
    void Walk(const std::function<void(const RangeInfo&)>& visit) const;
    bool Validate(std::string* why = nullptr) const;

    Metadata& metadata() { return *metadata_; }
    const Metadata& metadata() const { return *metadata_; }

private:
    std::unique_ptr<Metadata> metadata_;
    TlsfMetadata* tlsf_ = nullptr;  // metadata_ when it is TLSF: the hot calls skip the vtable
};

}  // namespace vma::core
