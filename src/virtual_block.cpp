// VirtualBlock: one Metadata with nothing behind it (VmaVirtualBlock). Virtual blocks use the
// finer small-size classes and no bufferImageGranularity or margins, as in VMA.
#include "virtual_block.h"

#include <stdexcept>

namespace vma::core {

VirtualBlock::VirtualBlock(const VirtualBlockCreateInfo& info) : metadata_(CreateMetadata(info.algorithm)) {
    if (!metadata_) throw std::invalid_argument("VirtualBlock: algorithm not available");
    MetadataConfig config;
    config.size = info.size;
    config.bufferImageGranularity = 1;
    config.marginAfter = 0;
    config.marginBefore = 0;
    config.isVirtual = true;
    metadata_->Init(config);
    if (info.algorithm == Algorithm::kTlsf) tlsf_ = static_cast<TlsfMetadata*>(metadata_.get());
}

VirtualBlock::~VirtualBlock() = default;

void VirtualBlock::Clear() { metadata_->Clear(); }
bool VirtualBlock::IsEmpty() const { return metadata_->IsEmpty(); }

Size VirtualBlock::GetOffset(AllocHandle handle) const { return metadata_->GetOffset(handle); }
Size VirtualBlock::GetAllocationSize(AllocHandle handle) const { return metadata_->GetAllocationSize(handle); }
void* VirtualBlock::GetUserData(AllocHandle handle) const { return metadata_->GetUserData(handle); }
void VirtualBlock::SetUserData(AllocHandle handle, void* userData) { metadata_->SetUserData(handle, userData); }

Statistics VirtualBlock::GetStatistics() const {
    Statistics stats;
    metadata_->AddStatistics(stats);
    return stats;
}

DetailedStatistics VirtualBlock::CalculateDetailedStatistics() const {
    DetailedStatistics stats;
    metadata_->AddDetailedStatistics(stats);
    return stats;
}

void VirtualBlock::Walk(const std::function<void(const RangeInfo&)>& visit) const { metadata_->Walk(visit); }
bool VirtualBlock::Validate(std::string* why) const { return metadata_->Validate(why); }

}  // namespace vma::core
