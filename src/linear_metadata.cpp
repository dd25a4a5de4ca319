// LinearMetadata: see linear_metadata.h for the algorithm and its invariants.
#include "linear_metadata.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <vector>

namespace vma::core {
namespace {

// The 1st vector is compacted only when it holds more items than this (VMA's threshold).
constexpr std::size_t kCompactionMinItems = 32;

// VMA's buffer/image granularity conflict table (VmaIsBufferImageGranularityConflict).
bool IsGranularityConflict(SuballocKind a, SuballocKind b) {
    if (a > b) std::swap(a, b);
    switch (a) {
        case SuballocKind::kFree:
            return false;
        case SuballocKind::kUnknown:
            return true;
        case SuballocKind::kBuffer:
            return b == SuballocKind::kImageUnknown || b == SuballocKind::kImageOptimal;
        case SuballocKind::kImageUnknown:
            return b == SuballocKind::kImageUnknown || b == SuballocKind::kImageLinear ||
                   b == SuballocKind::kImageOptimal;
        case SuballocKind::kImageLinear:
            return b == SuballocKind::kImageOptimal;
        case SuballocKind::kImageOptimal:
            return false;
    }
    return false;
}

// True when the last byte of the lower range [lowOffset, lowOffset + lowSize) lies on the same
// granularity page as the first byte of a higher range starting at highOffset.
bool OnSamePage(Size lowOffset, Size lowSize, Size highOffset, Size page) {
    return AlignDown(lowOffset + lowSize - 1, page) == AlignDown(highOffset, page);
}

bool CheckedAdd(Size a, Size b, Size* out) { return !__builtin_add_overflow(a, b, out); }

bool CheckedAlignUp(Size x, Size alignment, Size* out) {
    if (x > kWholeSize - (alignment - 1)) return false;
    *out = AlignUp(x, alignment);
    return true;
}

// Items below `offset`, nearest first: does one of them share the page of `offset` and conflict?
template <typename It>
bool ConflictBelow(It nearest, It end, Size offset, SuballocKind kind, Size page) {
    for (It it = nearest; it != end; ++it) {
        if (!OnSamePage(it->offset, it->size, offset, page)) break;
        if (IsGranularityConflict(it->kind, kind)) return true;
    }
    return false;
}

// Items above [offset, offset + size), nearest first: does one of them start on the page of the
// range's last byte and conflict?
template <typename It>
bool ConflictAbove(It nearest, It end, Size offset, Size size, SuballocKind kind, Size page) {
    for (It it = nearest; it != end; ++it) {
        if (!OnSamePage(offset, size, it->offset, page)) break;
        if (IsGranularityConflict(it->kind, kind)) return true;
    }
    return false;
}

}  // namespace

void LinearMetadata::Init(const MetadataConfig& config) {
    config_ = config;
    if (config_.bufferImageGranularity == 0) config_.bufferImageGranularity = 1;
    assert(IsPow2(config_.bufferImageGranularity));
    plainAppend_ = config_.marginBefore == 0 && config_.marginAfter == 0 && config_.bufferImageGranularity == 1;
    Clear();
}

void LinearMetadata::Clear() {
    vectors_[0].clear();
    vectors_[1].clear();
    firstIndex_ = 0;
    mode_ = SecondMode::kEmpty;
    null1stBegin_ = 0;
    null1stMiddle_ = 0;
    null2nd_ = 0;
    sumFree_ = config_.size;
}

std::size_t LinearMetadata::GetAllocationCount() const {
    return First().size() - null1stBegin_ - null1stMiddle_ + Second().size() - null2nd_;
}

template <typename Visit>
void LinearMetadata::ForEachLive(Visit&& visit) const {
    const SuballocVector& first = First();
    const SuballocVector& second = Second();
    if (mode_ == SecondMode::kRingBuffer) {
        for (const Suballoc& s : second)
            if (!s.IsNull()) visit(s);
    }
    for (std::size_t i = null1stBegin_; i < first.size(); ++i)
        if (!first[i].IsNull()) visit(first[i]);
    if (mode_ == SecondMode::kDoubleStack) {
        for (auto it = second.rbegin(); it != second.rend(); ++it)
            if (!it->IsNull()) visit(*it);
    }
}

std::size_t LinearMetadata::GetFreeRegionsCount() const {
    std::size_t count = 0;
    Size cursor = 0;
    ForEachLive([&](const Suballoc& s) {
        if (s.offset > cursor) ++count;
        cursor = s.offset + s.size;
    });
    if (cursor < config_.size) ++count;
    return count;
}

bool LinearMetadata::CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                                   AllocationRequest* request) {
    if (request == nullptr || size == 0 || size > config_.size) return false;
    if (alignment == 0) alignment = 1;
    if (!IsPow2(alignment)) return false;
    // The allocation and both its margins must fit in the block at all.
    Size withMargins = 0;
    if (!CheckedAdd(size, config_.marginBefore, &withMargins) ||
        !CheckedAdd(withMargins, config_.marginAfter, &withMargins) || withMargins > config_.size) {
        return false;
    }
    if (flags & kAllocUpperAddress) return CreateRequestUpper(size, alignment, kind, request);
    return CreateRequestLower(size, alignment, kind, request);
}

bool LinearMetadata::CreateRequestLower(Size size, Size alignment, SuballocKind kind,
                                        AllocationRequest* request) const {
    const SuballocVector& first = First();
    const SuballocVector& second = Second();
    const Size page = config_.bufferImageGranularity;
    const bool checkGranularity = page > 1;
    const Size before = config_.marginBefore;
    const Size after = config_.marginAfter;

    // The lowest offset after the last item of `below` (its back margin, our front margin, the
    // alignment, a granularity page if needed) at which the request still ends below `freeEnd`.
    auto placeAfter = [&](const SuballocVector& below, Size freeEnd, Size* out) {
        Size base = 0;
        bool ok = true;
        if (!below.empty()) ok = CheckedAdd(below.back().offset + below.back().size, after, &base);
        Size offset = 0;
        ok = ok && CheckedAdd(base, before, &offset) && CheckedAlignUp(offset, alignment, &offset);
        if (ok && checkGranularity && ConflictBelow(below.rbegin(), below.rend(), offset, kind, page)) {
            ok = CheckedAlignUp(offset, page, &offset);
        }
        Size end = 0;
        *out = offset;
        return ok && CheckedAdd(offset, size, &end) && CheckedAdd(end, after, &end) && end <= freeEnd;
    };

    // 1. After the last item of the 1st vector, up to the block end or the upper stack's top.
    if (mode_ == SecondMode::kEmpty || mode_ == SecondMode::kDoubleStack) {
        const Size freeEnd = mode_ == SecondMode::kDoubleStack ? second.back().offset - before : config_.size;
        Size offset = 0;
        if (placeAfter(first, freeEnd, &offset)) {
            // A conflict with the upper stack cannot be moved away from: fail.
            if (checkGranularity && mode_ == SecondMode::kDoubleStack &&
                ConflictAbove(second.rbegin(), second.rend(), offset, size, kind, page)) {
                return false;
            }
            FillRequest(offset, size, kEndOf1st, request);
            return true;
        }
    }

    // 2. Wrap around: after the end of the 2nd vector, up to the first live item of the 1st.
    if ((mode_ == SecondMode::kEmpty || mode_ == SecondMode::kRingBuffer) && !first.empty()) {
        Size offset = 0;
        if (!placeAfter(second, first[null1stBegin_].offset - before, &offset)) return false;
        const auto live1st = first.begin() + static_cast<std::ptrdiff_t>(null1stBegin_);
        if (checkGranularity && ConflictAbove(live1st, first.end(), offset, size, kind, page)) return false;
        FillRequest(offset, size, kEndOf2nd, request);
        return true;
    }
    return false;
}

bool LinearMetadata::CreateRequestUpper(Size size, Size alignment, SuballocKind kind,
                                        AllocationRequest* request) const {
    // The upper stack and the ring buffer both live in the 2nd vector: they cannot be mixed.
    if (mode_ == SecondMode::kRingBuffer) return false;
    const SuballocVector& first = First();
    const SuballocVector& second = Second();
    const Size page = config_.bufferImageGranularity;
    const bool checkGranularity = page > 1;
    const Size before = config_.marginBefore;
    const Size after = config_.marginAfter;

    // Our back margin must end at or below the top of the upper stack (or the block end).
    const Size top = second.empty() ? config_.size : second.back().offset - before;
    if (size + after > top) return false;  // size + after ≤ block size was checked
    Size offset = AlignDown(top - after - size, alignment);
    if (checkGranularity && ConflictAbove(second.rbegin(), second.rend(), offset, size, kind, page)) {
        // Move the last byte below the conflicting page.
        const Size pageStart = AlignDown(offset + size - 1, page);
        if (pageStart < size) return false;
        offset = AlignDown(pageStart - size, alignment);
    }

    // Our front margin must start at or after the back margin of the 1st vector's last item.
    Size low = 0;
    if (!first.empty() && !CheckedAdd(first.back().offset + first.back().size, after, &low)) return false;
    if (!CheckedAdd(low, before, &low) || offset < low) return false;
    // A conflict with the lower stack cannot be moved away from: fail.
    if (checkGranularity && ConflictBelow(first.rbegin(), first.rend(), offset, kind, page)) return false;

    FillRequest(offset, size, kUpperAddress, request);
    return true;
}

void LinearMetadata::FillRequest(Size offset, Size size, std::uint32_t type, AllocationRequest* request) {
    request->offset = offset;
    request->size = size;
    request->type = type;
    request->item = 0;
    request->algorithmData = 0;
}

AllocHandle LinearMetadata::Commit(const AllocationRequest& request, SuballocKind kind, void* userData) {
    assert(request.size > 0);
    Suballoc item;
    item.offset = request.offset;
    item.size = request.size;
    item.userData = userData;
    item.kind = kind == SuballocKind::kFree ? SuballocKind::kUnknown : kind;
    switch (request.type) {
        case kUpperAddress:
            assert(mode_ != SecondMode::kRingBuffer);
            assert(Second().empty() || item.offset + item.size <= Second().back().offset);
            mode_ = SecondMode::kDoubleStack;
            Second().push_back(item);
            break;
        case kEndOf2nd:
            assert(mode_ != SecondMode::kDoubleStack);
            assert(null1stBegin_ < First().size());
            mode_ = SecondMode::kRingBuffer;
            Second().push_back(item);
            break;
        case kEndOf1st:
        default:
            assert(First().empty() || First().back().offset + First().back().size <= item.offset);
            First().push_back(item);
            break;
    }
    sumFree_ -= item.size;
    return item.offset + 1;
}

AllocHandle LinearMetadata::Allocate(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                                     void* userData, Size* offset) {
    // Step 1 of CreateRequestLower when there is nothing to keep clear: append after the 1st
    // vector's last item, up to the block end or the upper stack's top. A request that does not fit
    // there (or any other request) takes the general path, which also tries to wrap around.
    if (plainAppend_ && (flags & kAllocUpperAddress) == 0 && mode_ != SecondMode::kRingBuffer && IsPow2(alignment)) {
        SuballocVector& first = First();
        const Size base = first.empty() ? 0 : first.back().offset + first.back().size;
        const Size freeEnd = mode_ == SecondMode::kDoubleStack ? Second().back().offset : config_.size;
        const Size placed = AlignUp(base, alignment);  // wraps below base only past 2^64
        // size − 1 wraps for size 0, which the general path rejects.
        if (placed >= base && placed <= freeEnd && size - 1 < freeEnd - placed) {
            const SuballocKind taken = kind == SuballocKind::kFree ? SuballocKind::kUnknown : kind;
            first.push_back(Suballoc{placed, size, userData, taken});
            sumFree_ -= size;
            *offset = placed;
            return placed + 1;
        }
    }
    return Metadata::Allocate(size, alignment, kind, flags, userData, offset);
}

const LinearMetadata::Suballoc* LinearMetadata::Find(Size offset) const {
    const SuballocVector& first = First();
    const auto live1st = first.begin() + static_cast<std::ptrdiff_t>(null1stBegin_);
    auto it = std::lower_bound(live1st, first.end(), offset, [](const Suballoc& s, Size o) { return s.offset < o; });
    if (it != first.end() && it->offset == offset && !it->IsNull()) return &*it;

    const SuballocVector& second = Second();
    if (mode_ == SecondMode::kRingBuffer) {
        it = std::lower_bound(second.begin(), second.end(), offset,
                              [](const Suballoc& s, Size o) { return s.offset < o; });
    } else if (mode_ == SecondMode::kDoubleStack) {
        it = std::lower_bound(second.begin(), second.end(), offset,
                              [](const Suballoc& s, Size o) { return s.offset > o; });
    } else {
        return nullptr;
    }
    if (it != second.end() && it->offset == offset && !it->IsNull()) return &*it;
    return nullptr;
}

void LinearMetadata::Free(AllocHandle handle) {
    if (handle == kNullHandle) return;
    const Size offset = handle - 1;
    SuballocVector& first = First();
    SuballocVector& second = Second();

    // O(1): the oldest live item of the 1st vector (ring buffer / queue order).
    if (null1stBegin_ < first.size() && first[null1stBegin_].offset == offset) {
        Suballoc& s = first[null1stBegin_];
        sumFree_ += s.size;
        s = Suballoc{s.offset, s.size, nullptr, SuballocKind::kFree};
        ++null1stBegin_;
        CleanupAfterFree();
        return;
    }
    // O(1): the top of the upper stack, or the newest wrapped-around item.
    if (mode_ != SecondMode::kEmpty && second.back().offset == offset) {
        sumFree_ += second.back().size;
        second.pop_back();
        CleanupAfterFree();
        return;
    }
    // O(1): the last item of the 1st vector (stack order).
    if (!first.empty() && first.back().offset == offset && !first.back().IsNull()) {
        sumFree_ += first.back().size;
        first.pop_back();
        CleanupAfterFree();
        return;
    }
    // Otherwise: in the middle of a vector. It becomes a null item.
    Suballoc* s = Find(offset);
    assert(s != nullptr && "LinearMetadata::Free: unknown handle");
    if (s == nullptr) return;
    const bool in1st = s >= first.data() && s < first.data() + first.size();
    sumFree_ += s->size;
    s->kind = SuballocKind::kFree;
    s->userData = nullptr;
    if (in1st) {
        ++null1stMiddle_;
    } else {
        ++null2nd_;
    }
    CleanupAfterFree();
}

bool LinearMetadata::ShouldCompact1st() const {
    const std::size_t nulls = null1stBegin_ + null1stMiddle_;
    const std::size_t items = First().size();
    return items > kCompactionMinItems && nulls * 2 >= (items - nulls) * 3;
}

void LinearMetadata::CleanupAfterFree() {
    if (IsEmpty()) {
        Clear();
        return;
    }
    SuballocVector& first = First();
    SuballocVector& second = Second();

    // Trim nulls from the end of the 1st vector (they were counted as middle nulls).
    while (first.size() > null1stBegin_ && first.back().IsNull()) {
        first.pop_back();
        --null1stMiddle_;
    }
    // Trim nulls from both ends of the 2nd vector.
    while (!second.empty() && second.back().IsNull()) {
        second.pop_back();
        --null2nd_;
    }
    std::size_t leading2nd = 0;
    while (leading2nd < second.size() && second[leading2nd].IsNull()) ++leading2nd;
    if (leading2nd > 0) {
        second.erase_front(leading2nd);
        null2nd_ -= leading2nd;
    }
    // Middle nulls right after the null prefix join the prefix.
    while (null1stMiddle_ > 0 && first[null1stBegin_].IsNull()) {
        ++null1stBegin_;
        --null1stMiddle_;
    }
    if (ShouldCompact1st()) {
        const Suballoc* liveEnd =
            std::remove_if(first.begin(), first.end(), [](const Suballoc& s) { return s.IsNull(); });
        first.truncate(static_cast<std::size_t>(liveEnd - first.begin()));
        null1stBegin_ = 0;
        null1stMiddle_ = 0;
    }

    if (second.empty()) mode_ = SecondMode::kEmpty;

    // The 1st vector holds nothing live any more.
    if (first.size() == null1stBegin_) {
        first.clear();
        null1stBegin_ = 0;
        null1stMiddle_ = 0;
        if (mode_ == SecondMode::kRingBuffer) {
            // The wrapped-around items become the 1st vector; the 2nd is empty again.
            mode_ = SecondMode::kEmpty;
            null1stMiddle_ = null2nd_;
            null2nd_ = 0;
            firstIndex_ ^= 1u;
            SuballocVector& newFirst = First();
            while (null1stBegin_ < newFirst.size() && newFirst[null1stBegin_].IsNull()) {
                ++null1stBegin_;
                --null1stMiddle_;
            }
        }
    }
}

Size LinearMetadata::GetOffset(AllocHandle handle) const { return handle - 1; }

Size LinearMetadata::GetAllocationSize(AllocHandle handle) const {
    const Suballoc* s = Find(handle - 1);
    assert(s != nullptr);
    return s != nullptr ? s->size : 0;
}

void* LinearMetadata::GetUserData(AllocHandle handle) const {
    const Suballoc* s = Find(handle - 1);
    assert(s != nullptr);
    return s != nullptr ? s->userData : nullptr;
}

void LinearMetadata::SetUserData(AllocHandle handle, void* userData) {
    Suballoc* s = Find(handle - 1);
    assert(s != nullptr);
    if (s != nullptr) s->userData = userData;
}

void LinearMetadata::Walk(const std::function<void(const RangeInfo&)>& visit) const {
    Size cursor = 0;
    ForEachLive([&](const Suballoc& s) {
        if (s.offset > cursor)
            visit(RangeInfo{cursor, s.offset - cursor, true, SuballocKind::kFree, kNullHandle, nullptr});
        visit(RangeInfo{s.offset, s.size, false, s.kind, s.offset + 1, s.userData});
        cursor = s.offset + s.size;
    });
    if (cursor < config_.size) {
        visit(RangeInfo{cursor, config_.size - cursor, true, SuballocKind::kFree, kNullHandle, nullptr});
    }
}

void LinearMetadata::AddStatistics(Statistics& stats) const {
    stats.blockCount += 1;
    stats.blockBytes += config_.size;
    stats.allocationCount += static_cast<std::uint32_t>(GetAllocationCount());
    stats.allocationBytes += config_.size - sumFree_;
}

bool LinearMetadata::Validate(std::string* why) const {
    auto fail = [why](const std::string& message) {
        if (why != nullptr) *why = "linear: " + message;
        return false;
    };
    const SuballocVector& first = First();
    const SuballocVector& second = Second();

    // Mode consistency.
    if ((mode_ == SecondMode::kEmpty) != second.empty()) return fail("2nd vector mode does not match its contents");
    if (mode_ == SecondMode::kRingBuffer && null1stBegin_ >= first.size()) {
        return fail("ring buffer with no live item in the 1st vector");
    }

    // Null-item counters.
    if (null1stBegin_ + null1stMiddle_ > first.size()) return fail("1st vector null counts exceed its size");
    if (!first.empty() && null1stBegin_ >= first.size()) return fail("1st vector holds only null items");
    for (std::size_t i = 0; i < null1stBegin_; ++i) {
        if (!first[i].IsNull()) return fail("live item inside the 1st vector's null prefix");
    }
    std::size_t nulls = 0;
    for (std::size_t i = null1stBegin_; i < first.size(); ++i) nulls += first[i].IsNull() ? 1 : 0;
    if (nulls != null1stMiddle_) return fail("1st vector middle null count is wrong");
    if (!first.empty() && (first[null1stBegin_].IsNull() || first.back().IsNull())) {
        return fail("1st vector does not start and end with live items");
    }
    nulls = 0;
    for (const Suballoc& s : second) nulls += s.IsNull() ? 1 : 0;
    if (nulls != null2nd_) return fail("2nd vector null count is wrong");
    if (!second.empty() && (second.front().IsNull() || second.back().IsNull())) {
        return fail("2nd vector does not start and end with live items");
    }

    // Items: kinds, user data, order within each vector.
    auto checkItems = [&](const SuballocVector& v, bool descending, const char* name) -> bool {
        for (std::size_t i = 0; i < v.size(); ++i) {
            const Suballoc& s = v[i];
            if (s.IsNull() && s.userData != nullptr) return fail(std::string(name) + ": null item with user data");
            if (!s.IsNull() && s.size == 0) return fail(std::string(name) + ": live item of size 0");
            if (i > 0) {
                const Suballoc& p = v[i - 1];
                const bool ordered = descending ? s.offset + s.size <= p.offset : p.offset + p.size <= s.offset;
                if (!ordered) return fail(std::string(name) + ": items out of address order or overlapping");
            }
        }
        return true;
    };
    if (!checkItems(first, false, "1st vector")) return false;
    if (!checkItems(second, mode_ == SecondMode::kDoubleStack, "2nd vector")) return false;

    // Live items in address order: margins, bounds, granularity, sums.
    const Size before = config_.marginBefore;
    const Size after = config_.marginAfter;
    const Size page = config_.bufferImageGranularity;
    std::vector<const Suballoc*> ordered;
    ordered.reserve(GetAllocationCount());
    ForEachLive([&](const Suballoc& s) { ordered.push_back(&s); });
    if (ordered.size() != GetAllocationCount()) return fail("allocation count does not match the live items");
    Size used = 0;
    Size minStart = 0;  // where the next item's front margin may start
    for (std::size_t i = 0; i < ordered.size(); ++i) {
        const Suballoc& s = *ordered[i];
        if (s.offset < before || s.offset - before < minStart) {
            return fail("allocation at offset " + std::to_string(s.offset) + " overlaps a neighbour or margin");
        }
        Size end = 0;
        if (!CheckedAdd(s.offset, s.size, &end) || !CheckedAdd(end, after, &minStart) || minStart > config_.size) {
            return fail("allocation at offset " + std::to_string(s.offset) + " (or its margin) leaves the block");
        }
        if (page > 1) {
            for (std::size_t j = i; j-- > 0;) {
                const Suballoc& p = *ordered[j];
                if (!OnSamePage(p.offset, p.size, s.offset, page)) break;
                if (IsGranularityConflict(p.kind, s.kind)) {
                    return fail("granularity conflict between offsets " + std::to_string(p.offset) + " and " +
                                std::to_string(s.offset));
                }
            }
        }
        used += s.size;
    }
    if (used > config_.size || sumFree_ != config_.size - used) return fail("sum of free bytes is wrong");
    return true;
}

}  // namespace vma::core
