// TlsfMetadata: see tlsf_metadata.h for the algorithm and its invariants.
#include "tlsf_metadata.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace vma::core {
namespace {

// x ≠ 0. clz ^ 63 (= 63 − clz) is what GCC reliably compiles to a single bsr.
inline std::uint32_t Msb64(std::uint64_t x) { return static_cast<std::uint32_t>(__builtin_clzll(x)) ^ 63u; }
inline std::uint32_t Ctz32(std::uint32_t x) { return static_cast<std::uint32_t>(__builtin_ctz(x)); }
inline std::uint32_t Ctz64(std::uint64_t x) { return static_cast<std::uint32_t>(__builtin_ctzll(x)); }

// i != ~0u ? a : b (i is a node link, ~0u is kNil), without a branch: GCC compiles a plain ?: on
// two addresses into a branch, which mispredicts when the choice is data (see UnlinkFree).
inline std::uint32_t* IfLinked(std::uint32_t i, std::uint32_t* a, std::uint32_t* b) {
#if defined(__x86_64__)
    asm("cmpl $-1, %k[i]\n\tcmovne %[a], %[b]" : [b] "+r"(b) : [a] "r"(a), [i] "r"(i) : "cc");
    return b;
#else
    return i != ~std::uint32_t{0} ? a : b;
#endif
}

// Hot helpers are forced inline: one allocation should be one call (the virtual Allocate).
#define VMA_TLSF_INLINE inline __attribute__((always_inline))
// Rare paths are kept out of the hot functions, so that these stay small and keep their values in
// registers.
#define VMA_TLSF_NOINLINE __attribute__((noinline))

// VMA's conflict table, indexed by SuballocKind (FREE, UNKNOWN, BUFFER, IMAGE_UNKNOWN, IMAGE_LINEAR,
// IMAGE_OPTIMAL). Symmetric.
constexpr bool kConflict[6][6] = {
    /* FREE          */ {false, false, false, false, false, false},
    /* UNKNOWN       */ {false, true, true, true, true, true},
    /* BUFFER        */ {false, true, false, true, false, true},
    /* IMAGE_UNKNOWN */ {false, true, true, true, true, true},
    /* IMAGE_LINEAR  */ {false, true, false, true, false, true},
    /* IMAGE_OPTIMAL */ {false, true, true, true, true, false},
};

bool Fail(std::string* why, const std::string& text) {
    if (why) *why = text;
    return false;
}

}  // namespace

bool TlsfMetadata::KindsConflict(SuballocKind a, SuballocKind b) {
    const auto ia = static_cast<unsigned>(a), ib = static_cast<unsigned>(b);
    if (ia >= 6 || ib >= 6) return true;
    return kConflict[ia][ib];
}

// ---------------------------------------------------------------------------------------------
// Size classes

// kVirtual (8-unit small lists): class 0 and class 1 then share one formula, list = size >> 3 for
// every size below 512, so with m = max(msb, 8) the list is (m − 8) · 32 + (size >> (m − 5)) for
// any size: no branch on small sizes (a twelfth of VMA's benchmark sizes are small, at random).
// max(msb(size), 8) is msb(size | 256).
VMA_TLSF_INLINE std::uint32_t TlsfMetadata::VirtualListIndex(Size size) {
    const std::uint32_t m = Msb64(size | 256);
    return ((m - 8) << kSecondLevelBits) + static_cast<std::uint32_t>(size >> (m - kSecondLevelBits));
}

template <bool kVirtual>
VMA_TLSF_INLINE std::uint32_t TlsfMetadata::FastListIndex(Size size) const {
    if constexpr (kVirtual) {
        return VirtualListIndex(size);
    } else {
        if (size < kSmallSizeLimit) return static_cast<std::uint32_t>(size >> smallShift_);
        const std::uint32_t msb = Msb64(size);
        return ((msb - kClassShift) << kSecondLevelBits) |
               static_cast<std::uint32_t>((size >> (msb - kSecondLevelBits)) & (kListsPerClass - 1));
    }
}

// FastListIndexRoundUp<true> for 1 ≤ size ≤ 2^62 (no bound check). Virtual lists have no gap
// (8-unit lists below 256, then 32 per class), so the first list whose lower bound is ≥ size is the
// list of size − 1, plus one: the exact list's few instructions.
VMA_TLSF_INLINE std::uint32_t TlsfMetadata::VirtualListIndexRoundUp(Size size) {
    return VirtualListIndex(size - 1) + 1;
}

template <bool kVirtual>
VMA_TLSF_INLINE std::uint32_t TlsfMetadata::FastListIndexRoundUp(Size size) const {
    if constexpr (kVirtual) {  // size ≥ 1 (ListIndexRoundUp answers 0 itself)
        if (size > (Size{1} << 62)) return kBeyondLists;
        return VirtualListIndexRoundUp(size);
    } else {
        if (size <= kSmallSizeLimit) {
            const Size width = Size{1} << smallShift_;
            const Size list = (size + width - 1) >> smallShift_;
            return (list << smallShift_) >= kSmallSizeLimit ? kListsPerClass : static_cast<std::uint32_t>(list);
        }
        if (size > (Size{1} << 62)) return kBeyondLists;
        // Round up to the width of the lists of size's class; rounding down the result then lands on
        // the first list whose lower bound is ≥ size (possibly the next class's first list).
        const Size width = Size{1} << (Msb64(size) - kSecondLevelBits);
        return FastListIndex<false>(size + width - 1);
    }
}

std::uint32_t TlsfMetadata::ListIndex(Size size) const {
    return smallShift_ == kSmallShiftVirtual ? FastListIndex<true>(size) : FastListIndex<false>(size);
}

std::uint32_t TlsfMetadata::ListIndexRoundUp(Size size) const {
    if (smallShift_ == kSmallShiftVirtual) return size == 0 ? 0 : FastListIndexRoundUp<true>(size);
    return FastListIndexRoundUp<false>(size);
}

Size TlsfMetadata::ListLowerBound(std::uint32_t list) const {
    const std::uint32_t cls = list >> kSecondLevelBits;
    const std::uint32_t second = list & (kListsPerClass - 1);
    if (cls == 0) return Size{second} << smallShift_;
    const std::uint32_t msb = cls + kClassShift;
    return (Size{kListsPerClass + second}) << (msb - kSecondLevelBits);
}

// `list` ≤ kBeyondLists. Classes the block does not reach have empty bitmaps, so no bound check.
VMA_TLSF_INLINE std::uint32_t TlsfMetadata::FirstNonEmptyList(std::uint32_t list) const {
    std::uint32_t cls = list >> kSecondLevelBits;
    assert(cls < kMaxClasses);
    const std::uint32_t inner = listBitmaps_[cls] & (~0u << (list & (kListsPerClass - 1)));
    if (inner != 0) return (cls << kSecondLevelBits) | Ctz32(inner);
    // ~1 << cls keeps the classes above cls (none for the last class).
    const std::uint64_t higher = classBitmap_ & (~std::uint64_t{1} << cls);
    if (higher == 0) return kNil;
    cls = Ctz64(higher);
    return (cls << kSecondLevelBits) | Ctz32(listBitmaps_[cls]);
}

// ---------------------------------------------------------------------------------------------
// Free lists and node slots

// The free lists are doubly linked: a node leaves its list in O(1) wherever it is in it.
//
// kBranchFree: the node's place in its list, and whether the list is empty, are data. Free reaches
// the nodes it merges with through their physical neighbours, and many of those head their list
// (in VMA's benchmark's free-all at alignment 16, 60 % of the next neighbours and 20 % of the
// previous ones), so branches on the list's shape mispredict there, and a mispredicted branch
// costs more than the few instructions that avoid it. Those variants pick the field to write
// instead (a harmless write to the node itself when there is no neighbour) and set the bitmap bits
// whether or not they were set. Allocation keeps the branches: it mostly takes and puts back list
// heads, where they are predicted (and there the unconditional bitmap write made it slower).
VMA_TLSF_INLINE void TlsfMetadata::MarkListNonEmpty(std::uint32_t list) {
    const std::uint32_t cls = list >> kSecondLevelBits;
    listBitmaps_[cls] |= 1u << (list & (kListsPerClass - 1));
    classBitmap_ |= std::uint64_t{1} << cls;
}

VMA_TLSF_INLINE void TlsfMetadata::MarkListEmpty(std::uint32_t list) {
    const std::uint32_t cls = list >> kSecondLevelBits;
    listBitmaps_[cls] &= ~(1u << (list & (kListsPerClass - 1)));
    if (listBitmaps_[cls] == 0) classBitmap_ &= ~(std::uint64_t{1} << cls);
}

template <bool kBranchFree>
VMA_TLSF_INLINE void TlsfMetadata::LinkFree(std::uint32_t n, std::uint32_t list) {
    Node& node = nodes_[n];
    const std::uint32_t head = heads_[list];
    nodes_.SetCell(n, FreeCell(list));
    if constexpr (kBranchFree) {
        *IfLinked(head, &nodes_.FreeLinksOf(head)->prev, &node.link.free.prev) = n;
        node.link.free.prev = kNil;  // after the write above, which may have been to this field
        MarkListNonEmpty(list);
    } else {
        node.link.free.prev = kNil;
        if (head != kNil) {
            nodes_[head].link.free.prev = n;
        } else {
            MarkListNonEmpty(list);
        }
    }
    node.link.free.next = head;
    heads_[list] = n;
}

// `list` is the node's list (ListIndex of its size before any change).
template <bool kBranchFree>
VMA_TLSF_INLINE void TlsfMetadata::UnlinkFree(std::uint32_t n, std::uint32_t list) {
    static_assert(kNil == ~std::uint32_t{0}, "IfLinked and the emptiness test below rely on it");
    Node& node = nodes_[n];
    const FreeLinks links = node.link.free;
    if constexpr (kBranchFree) {
        *IfLinked(links.prev, &nodes_.FreeLinksOf(links.prev)->next, &heads_[list]) = links.next;
        *IfLinked(links.next, &nodes_.FreeLinksOf(links.next)->prev, &node.link.free.prev) = links.prev;
        if ((links.prev & links.next) == kNil) MarkListEmpty(list);  // kNil has every bit set
    } else {
        if (links.prev != kNil) {
            nodes_[links.prev].link.free.next = links.next;
        } else {
            heads_[list] = links.next;
            if (links.next == kNil) MarkListEmpty(list);
        }
        if (links.next != kNil) nodes_[links.next].link.free.prev = links.prev;
    }
}

template <bool kBranchFree>
VMA_TLSF_INLINE void TlsfMetadata::InsertFreeAt(std::uint32_t n, std::uint32_t list) {
    LinkFree<kBranchFree>(n, list);
    ++freeNodeCount_;
}

template <bool kVirtual>
VMA_TLSF_INLINE void TlsfMetadata::InsertFree(std::uint32_t n) {
    InsertFreeAt<false>(n, FastListIndex<kVirtual>(nodes_[n].size));
}

// A free node in list `oldList` shrank (allocation carved from it) or grew (a merge in Free): move
// it to its new list if that is another. A shrunk node (often the block's tail, which shrinks by
// small steps and rarely changes list) stays iff it is still ≥ its list's lower bound: one load
// instead of the list's computation. A grown one mostly changes list (a merge with a padding), so
// its list is computed at once. Allocation's relisting keeps the branches, Free's is branch-free
// (see LinkFree).
template <bool kVirtual>
VMA_TLSF_INLINE void TlsfMetadata::RelistShrunk(std::uint32_t n, std::uint32_t oldList) {
    const Size size = nodes_[n].size;
    if (size < listBounds_[oldList]) {
        UnlinkFree<false>(n, oldList);
        LinkFree<false>(n, FastListIndex<kVirtual>(size));
    }
}

template <bool kVirtual>
VMA_TLSF_INLINE void TlsfMetadata::RelistGrown(std::uint32_t n, std::uint32_t oldList) {
    const std::uint32_t list = FastListIndex<kVirtual>(nodes_[n].size);  // mostly another
    if (list != oldList) {
        UnlinkFree<true>(n, oldList);
        LinkFree<true>(n, list);
    }
}

VMA_TLSF_INLINE std::uint32_t TlsfMetadata::NewNode() {
    if (freeSlot_ != kNil) {
        const std::uint32_t n = freeSlot_;
        freeSlot_ = nodes_[n].nextPhys;
        return n;
    }
    return nodes_.push();
}

// Links node n, covering [offset, offset + size), into the physical list right in front of f.
VMA_TLSF_INLINE void TlsfMetadata::LinkInFront(std::uint32_t n, std::uint32_t f, Size offset, Size size) {
    Node& node = nodes_[n];
    const std::uint32_t before = nodes_[f].prevPhys;
    node.offset = offset;
    node.size = size;
    node.prevPhys = before;
    node.nextPhys = f;
    if (before != kNil) {
        nodes_[before].nextPhys = n;
    } else {
        firstNode_ = n;
    }
    nodes_[f].prevPhys = n;
}

VMA_TLSF_INLINE void TlsfMetadata::ReleaseNode(std::uint32_t n) {
    Node& node = nodes_[n];
    node.size = 0;
    nodes_.SetCell(n, FreeCell(0));
    node.nextPhys = freeSlot_;
    freeSlot_ = n;
}

// ---------------------------------------------------------------------------------------------
// Granularity

bool TlsfMetadata::NeedsOwnPages(SuballocKind kind) const {
    return kind == SuballocKind::kUnknown || kind == SuballocKind::kImageUnknown ||
           kind == SuballocKind::kImageOptimal;
}

// Only the first and the last page of an allocation are recorded: pages in between belong to it
// alone, and conflicts can only arise where two allocations meet.
void TlsfMetadata::ClaimPages(Size offset, Size size, SuballocKind kind) {
    const Size first = offset >> pageShift_;
    const Size last = (offset + size - 1) >> pageShift_;
    for (Size p : {first, last}) {
        Page& page = pages_[static_cast<std::size_t>(p)];
        if (page.count == 0) page.kind = kind;
        ++page.count;
        if (first == last) break;
    }
}

void TlsfMetadata::ReleasePages(Size offset, Size size) {
    const Size first = offset >> pageShift_;
    const Size last = (offset + size - 1) >> pageShift_;
    for (Size p : {first, last}) {
        Page& page = pages_[static_cast<std::size_t>(p)];
        assert(page.count > 0);
        if (--page.count == 0) page.kind = SuballocKind::kFree;
        if (first == last) break;
    }
}

// ---------------------------------------------------------------------------------------------
// Init / Clear

void TlsfMetadata::Init(const MetadataConfig& config) {
    config_ = config;
    if (config_.bufferImageGranularity == 0 || !IsPow2(config_.bufferImageGranularity)) {
        config_.bufferImageGranularity = 1;
    }
    marginSum_ = config_.marginBefore + config_.marginAfter;
    smallShift_ = config_.isVirtual ? kSmallShiftVirtual : kSmallShiftReal;
    const Size g = config_.bufferImageGranularity;
    if (g == 1) {
        granularityMode_ = GranularityMode::kNone;
    } else if (g <= kMaxLowGranularity) {
        granularityMode_ = GranularityMode::kRound;
    } else {
        granularityMode_ = GranularityMode::kPageTable;
        pageShift_ = Msb64(g);
    }
    virtualLayout_ = config_.isVirtual && marginSum_ == 0 && granularityMode_ == GranularityMode::kNone;
    classCount_ = config_.size == 0 ? 0 : (ListIndex(config_.size) >> kSecondLevelBits) + 1;
    heads_.assign(std::size_t{classCount_} * kListsPerClass, kNil);
    listBounds_.resize(heads_.size());
    for (std::uint32_t list = 0; list < listBounds_.size(); ++list) listBounds_[list] = ListLowerBound(list);
    fastAlignLimit_ = virtualLayout_ && config_.size < (Size{1} << 48) ? Size{1} << 32 : 0;
    Clear();
}

void TlsfMetadata::Clear() {
    nodes_.clear();
    freeSlot_ = kNil;
    firstNode_ = kNil;
    std::fill(heads_.begin(), heads_.end(), kNil);
    listBitmaps_.fill(0);
    classBitmap_ = 0;
    allocationCount_ = 0;
    freeNodeCount_ = 0;
    allocatedBytes_ = 0;
    if (granularityMode_ == GranularityMode::kPageTable) {
        pages_.assign(static_cast<std::size_t>((config_.size + config_.bufferImageGranularity - 1) >> pageShift_),
                      Page{});
    } else {
        pages_.clear();
    }
    if (config_.size == 0) return;
    firstNode_ = NewNode();
    Node& whole = nodes_[firstNode_];
    whole.offset = 0;
    whole.size = config_.size;
    whole.prevPhys = kNil;
    whole.nextPhys = kNil;
    InsertFreeAt<false>(firstNode_, ListIndex(config_.size));
}

// ---------------------------------------------------------------------------------------------
// Search

// Does the allocation fit in free node n? On success fills *out with the node and aligned offset
// (not the list: the caller knows it).
template <bool kVirtual>
VMA_TLSF_INLINE bool TlsfMetadata::CheckFit(std::uint32_t n, Size size, Size alignment, SuballocKind kind,
                                            Placement* out) const {
    const Node& node = nodes_[n];
    if constexpr (kVirtual) {
        // No margins. Written so that nothing wraps, whatever the block size: a padding that wrapped
        // (AlignUp past 2^64) is huge and fails the second test.
        const Size offset = AlignUp(node.offset, alignment);
        if (size > node.size || offset - node.offset > node.size - size) return false;
        out->node = n;
        out->offset = offset;
        out->size = size;
        return true;
    } else {
        const Size end = node.offset + node.size;
        Size offset = AlignUp(node.offset + config_.marginBefore, alignment);
        if (offset + size + config_.marginAfter > end || offset + size + config_.marginAfter < offset) return false;
        if (granularityMode_ == GranularityMode::kPageTable) {
            // Start page shared with an earlier allocation of a conflicting kind: move to the next page.
            const Page& startPage = pages_[static_cast<std::size_t>(offset >> pageShift_)];
            if (startPage.count != 0 && KindsConflict(startPage.kind, kind)) {
                offset = AlignUp(((offset >> pageShift_) + 1) << pageShift_, alignment);
                if (offset + size + config_.marginAfter > end) return false;
            }
            // End page shared with a later allocation of a conflicting kind: this node will not do.
            const Page& endPage = pages_[static_cast<std::size_t>((offset + size - 1) >> pageShift_)];
            if (endPage.count != 0 && KindsConflict(endPage.kind, kind)) return false;
        }
        out->node = n;
        out->offset = offset;
        out->size = size;
        return true;
    }
}

// First fit over the lists [firstList, endList), at most `budget` nodes.
VMA_TLSF_NOINLINE bool TlsfMetadata::FindInLists(std::uint32_t firstList, std::uint32_t endList, std::uint32_t budget,
                                                 Size size, Size alignment, SuballocKind kind, Placement* out) const {
    for (std::uint32_t list = FirstNonEmptyList(firstList); list < endList; list = FirstNonEmptyList(list + 1)) {
        for (std::uint32_t n = heads_[list]; n != kNil; n = nodes_[n].link.free.next) {
            if (CheckFit<false>(n, size, alignment, kind, out)) {
                out->list = list;
                return true;
            }
            if (--budget == 0) return false;
        }
    }
    return false;
}

// Best fit, bounded. Lists are searched from the exact list upward; in the lowest list holding a
// node that fits, the smallest fitting node is taken (nodes of higher lists are all larger), so
// with enough budget this is the smallest fitting node of the block. Below the sure list at most
// kBestFitLimit nodes are examined: with large alignments those lists fill with small paddings that
// fit nothing, and an exhaustive scan would cost O(free nodes) per allocation. When that budget is
// spent without a fit, the search goes on at the sure list, where every node fits, with a fresh
// budget of kBestFitLimit nodes. If both find nothing, every node that could fit is searched.
VMA_TLSF_NOINLINE bool TlsfMetadata::FindBestFit(std::uint32_t firstList, std::uint32_t sureList, Size size,
                                                 Size alignment, SuballocKind kind, Placement* out) const {
    std::uint32_t budget = kBestFitLimit;
    bool belowSure = true;
    for (std::uint32_t list = FirstNonEmptyList(firstList); list != kNil;) {
        if (belowSure && list >= sureList) {
            belowSure = false;
            budget = kBestFitLimit;
        }
        Size bestSize = kWholeSize;
        bool found = false;
        Placement candidate;
        for (std::uint32_t n = heads_[list]; n != kNil && budget != 0; n = nodes_[n].link.free.next, --budget) {
            const Node& node = nodes_[n];
            if (node.size < bestSize && CheckFit<false>(n, size, alignment, kind, &candidate)) {
                bestSize = node.size;
                *out = candidate;
                found = true;
            }
        }
        if (found) {
            out->list = list;
            return true;
        }
        if (budget == 0) {
            if (!belowSure) break;
            list = FirstNonEmptyList(sureList);  // spent below the sure list
        } else {
            list = FirstNonEmptyList(list + 1);
        }
    }
    return FindInLists(firstList, kNil, kNil, size, alignment, kind, out);
}

VMA_TLSF_NOINLINE bool TlsfMetadata::FindLowestOffset(Size size, Size alignment, SuballocKind kind,
                                                      Placement* out) const {
    for (std::uint32_t n = firstNode_; n != kNil; n = nodes_[n].nextPhys) {
        if (nodes_.IsFree(n) && CheckFit<false>(n, size, alignment, kind, out)) {
            out->list = CellList(nodes_.cell(n));
            return true;
        }
    }
    return false;
}

template <bool kVirtual>
VMA_TLSF_INLINE bool TlsfMetadata::Find(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                                        Placement* out) const {
    if (size - 1 >= config_.size) return false;  // size == 0 or size > block
    if (alignment == 0) alignment = 1;
    if ((alignment & (alignment - 1)) != 0 || alignment > (Size{1} << 62)) return false;
    if constexpr (!kVirtual) {
        if (granularityMode_ == GranularityMode::kRound && NeedsOwnPages(kind)) {
            const Size g = config_.bufferImageGranularity;
            if (alignment < g) alignment = g;
            size = AlignUp(size, g);
        }
    }
    const Size need = kVirtual ? size : size + marginSum_;
    if (need > config_.size - allocatedBytes_) return false;  // even all free bytes together are too few

    const std::uint32_t sureList = SureList<kVirtual>(need, alignment);
    constexpr std::uint32_t kRareStrategies = kAllocStrategyMinOffset | kAllocStrategyMinMemory;
    if (flags & kRareStrategies) {
        if (flags & kAllocStrategyMinOffset) return FindLowestOffset(size, alignment, kind, out);
        return FindBestFit(FastListIndex<kVirtual>(need), sureList, size, alignment, kind, out);
    }
    // Default: for an aligned request a bounded good-fit probe of the lists in [exact, sure), then
    // the first non-empty list ≥ sure. Min-time, and the default at alignment 1: straight to the
    // first non-empty list ≥ sure.
    const bool probe = (flags & kAllocStrategyMinTime) == 0 && alignment > 1;
    const std::uint32_t first = probe ? FastListIndex<kVirtual>(need) : sureList;
    return FindFrom<kVirtual>(FirstNonEmptyList(first), sureList, need, size, alignment, kind, out);
}

// Every node of the sure list and above fits, wherever it starts (a sum past 2^64 saturates).
template <bool kVirtual>
VMA_TLSF_INLINE std::uint32_t TlsfMetadata::SureList(Size need, Size alignment) const {
    const Size sure = need + (alignment - 1);
    return FastListIndexRoundUp<kVirtual>(sure < need ? kWholeSize : sure);
}

// Find from `list`, the first non-empty list at or above the exact list (default, aligned request)
// or the sure list (min-time; default at alignment 1): probe up to kAlignedProbeLimit nodes below
// the sure list, then take the first non-empty list at or above it, then search everything.
template <bool kVirtual>
VMA_TLSF_INLINE bool TlsfMetadata::FindFrom(std::uint32_t list, std::uint32_t sureList, Size need, Size size,
                                            Size alignment, SuballocKind kind, Placement* out) const {
    std::uint32_t budget = kAlignedProbeLimit;
    while (list < sureList) {  // kNil is above every list
        for (std::uint32_t n = heads_[list]; n != kNil; n = nodes_[n].link.free.next) {
            if (CheckFit<kVirtual>(n, size, alignment, kind, out)) {
                out->list = list;
                return true;
            }
            if (--budget == 0) break;
        }
        if (budget == 0) {
            list = FirstNonEmptyList(sureList);
            break;
        }
        list = FirstNonEmptyList(list + 1);
    }
    // Here list ≥ sureList (or kNil).
    if constexpr (kVirtual) {
        if (list != kNil) {  // its head fits: no check (virtual blocks have no granularity)
            const std::uint32_t n = heads_[list];
            out->node = n;
            out->list = list;
            out->offset = AlignUp(nodes_[n].offset, alignment);
            out->size = size;
            return true;
        }
    } else if (list != kNil && CheckFit<kVirtual>(heads_[list], size, alignment, kind, out)) {
        out->list = list;
        return true;
    }
    // Slow path: every node that could possibly fit. Reached when the probes above missed (long
    // lists of nodes too small for the alignment, granularity conflicts) or the block is full.
    return FindInLists(FastListIndex<kVirtual>(need), kNil, kNil, size, alignment, kind, out);
}

// ---------------------------------------------------------------------------------------------
// Allocate / Free

template <bool kVirtual>
VMA_TLSF_INLINE AllocHandle TlsfMetadata::Place(const Placement& p, SuballocKind kind, void* userData) {
    if (kind == SuballocKind::kFree) kind = SuballocKind::kUnknown;  // FREE marks free nodes
    const std::uint32_t f = p.node;
    const Size freeStart = nodes_[f].offset;
    const Size freeEnd = freeStart + nodes_[f].size;
    const Size start = kVirtual ? p.offset : p.offset - config_.marginBefore;
    const Size end = kVirtual ? p.offset + p.size : p.offset + p.size + config_.marginAfter;
    std::uint32_t t;
    if (start == freeStart) {
        if (end == freeEnd) {
            UnlinkFree<false>(f, p.list);  // exact fit: the free node becomes the allocation
            --freeNodeCount_;
            t = f;
        } else {
            // Allocation at the front; f keeps the remainder behind it.
            t = NewNode();
            LinkInFront(t, f, freeStart, end - freeStart);
            Node& rest = nodes_[f];
            rest.offset = end;
            rest.size = freeEnd - end;
            RelistShrunk<kVirtual>(f, p.list);
        }
    } else if (end == freeEnd) {
        // Allocation at the back; f keeps the padding in front of it.
        t = NewNode();
        Node& taken = nodes_[t];
        Node& pad = nodes_[f];
        const std::uint32_t after = pad.nextPhys;
        taken.offset = start;
        taken.size = freeEnd - start;
        taken.prevPhys = f;
        taken.nextPhys = after;
        if (after != kNil) nodes_[after].prevPhys = t;
        pad.nextPhys = t;
        pad.size = start - freeStart;
        RelistShrunk<kVirtual>(f, p.list);
    } else {
        // Padding, allocation, remainder: f keeps the remainder (often the block's tail, whose list
        // then rarely changes); the padding becomes a new free node. The padding's slot is taken
        // first: carving from the tail, the allocation then gets the slot after it, and shares a
        // 64-byte line of the node array with the next allocation's padding, its next physical
        // neighbour, which Free merges with (4-6 % fewer first-level misses in free-all).
        const std::uint32_t pad = NewNode();
        t = NewNode();
        LinkInFront(pad, f, freeStart, start - freeStart);
        LinkInFront(t, f, start, end - start);
        Node& rest = nodes_[f];
        rest.offset = end;
        rest.size = freeEnd - end;
        RelistShrunk<kVirtual>(f, p.list);
        InsertFree<kVirtual>(pad);
    }
    nodes_.SetCell(t, TakenCell(kind));
    nodes_[t].link.userData = userData;
    ++allocationCount_;
    allocatedBytes_ += p.size;
    if constexpr (!kVirtual) {
        if (granularityMode_ == GranularityMode::kPageTable) ClaimPages(p.offset, p.size, kind);
    }
    return AllocHandle{t} + 1;
}

template <bool kVirtual>
VMA_TLSF_INLINE AllocHandle TlsfMetadata::AllocateImpl(Size size, Size alignment, SuballocKind kind,
                                                       std::uint32_t flags, void* userData, Size* offset) {
    Placement p;
    if (!Find<kVirtual>(size, alignment, kind, flags, &p)) return kNullHandle;
    *offset = p.offset;
    return Place<kVirtual>(p, kind, userData);
}

VMA_TLSF_NOINLINE AllocHandle TlsfMetadata::AllocateGeneral(Size size, Size alignment, SuballocKind kind,
                                                             std::uint32_t flags, void* userData, Size* offset) {
    return AllocateImpl<false>(size, alignment, kind, flags, userData, offset);
}

AllocHandle TlsfMetadata::Allocate(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                                   void* userData, Size* offset) {
    if (!virtualLayout_) return AllocateGeneral(size, alignment, kind, flags, userData, offset);
    return AllocateImpl<true>(size, alignment, kind, flags, userData, offset);
}

// Everything AllocateVirtual leaves to the full search: probing below the sure list, nothing at or
// above it, unusual arguments, rare strategies, other layouts.
VMA_TLSF_NOINLINE TlsfMetadata::Placed TlsfMetadata::AllocateVirtualSlow(Size size, Size alignment,
                                                                         std::uint32_t flags, void* userData) {
    Size offset = 0;
    const AllocHandle h = Allocate(size, alignment, SuballocKind::kUnknown, flags, userData, &offset);
    return {h, h != kNullHandle ? offset : kWholeSize};
}

VMA_TLSF_NOINLINE TlsfMetadata::Placed TlsfMetadata::AllocateVirtualFrom(std::uint32_t list, Size size,
                                                                         Size alignment, void* userData) {
    if (size > config_.size - allocatedBytes_) return {kNullHandle, kWholeSize};  // even all free units are too few
    const std::uint32_t sureList = VirtualListIndexRoundUp(size + alignment - 1);
    Placement p;
    if (!FindFrom<true>(list, sureList, size, size, alignment, SuballocKind::kUnknown, &p)) {
        return {kNullHandle, kWholeSize};
    }
    return {Place<true>(p, SuballocKind::kUnknown, userData), p.offset};
}

VMA_TLSF_NOINLINE TlsfMetadata::Placed TlsfMetadata::PlaceVirtual(std::uint32_t f, std::uint32_t list, Size offset,
                                                                  Size size, void* userData) {
    Placement p;
    p.node = f;
    p.list = list;
    p.offset = offset;
    p.size = size;
    return {Place<true>(p, SuballocKind::kUnknown, userData), offset};
}

VMA_TLSF_NOINLINE TlsfMetadata::Placed TlsfMetadata::RelistShrunkAndReturn(std::uint32_t f, std::uint32_t list,
                                                                           Placed placed) {
    RelistShrunk<true>(f, list);
    return placed;
}

// The common case written out: the first non-empty list at or above the exact list (default,
// aligned request) or the sure list (min-time; default at alignment 1) has a head that fits. The
// placement is the one Allocate makes: below the sure list the default strategy's probes take the
// first node that fits, which is that head.
TlsfMetadata::Placed TlsfMetadata::AllocateVirtual(Size size, Size alignment, std::uint32_t flags, void* userData) {
    constexpr std::uint32_t kRareStrategies = kAllocStrategyMinOffset | kAllocStrategyMinMemory;
    // Four predicted branches (a compare and a jump each) for: another layout or a huge block
    // (fastAlignLimit_ 0), alignment 0 or ≥ 2^32, not a power of two, a rare strategy, size 0 or
    // larger than the block.
    const bool unusual = __builtin_expect(alignment - 1 >= fastAlignLimit_, 0) ||
                         __builtin_expect((alignment & (alignment - 1)) != 0, 0) ||
                         __builtin_expect((flags & kRareStrategies) != 0, 0) ||
                         __builtin_expect(size - 1 >= config_.size, 0);
    if (unusual) return AllocateVirtualSlow(size, alignment, flags, userData);
    // size + alignment − 1 < 2^48 + 2^32: no wrap, and within the lists (FastListIndexRoundUp's
    // bound check is not needed). One list index: when it probes, the default strategy checks the
    // head's fit instead of comparing with the sure list.
    const bool probe = (flags & kAllocStrategyMinTime) == 0 && alignment > 1;
    const std::uint32_t first = probe ? VirtualListIndex(size) : VirtualListIndexRoundUp(size + alignment - 1);
    const std::uint32_t list = FirstNonEmptyList(first);
    if (list == kNil) return AllocateVirtualFrom(list, size, alignment, userData);
    const std::uint32_t f = heads_[list];
    const Size start = nodes_[f].offset;
    const Size freeEnd = start + nodes_[f].size;
    const Size offset = AlignUp(start, alignment);
    const Size end = offset + size;
    // Written out here: the allocation at the front of f, a remainder behind it staying in f (as
    // Place does it). A padding in front, an exact fit, a head too small (default strategy below
    // the sure list) or a full node array (growing it is a call) go to PlaceVirtual, so that this
    // function contains no call and GCC saves its registers only past the argument checks; an
    // aligned allocation pays one call.
    if (end >= freeEnd || offset != start || (freeSlot_ == kNil && nodes_.full())) {
        if (end > freeEnd) return AllocateVirtualFrom(list, size, alignment, userData);
        return PlaceVirtual(f, list, offset, size, userData);
    }
    const std::uint32_t t = NewNode();
    LinkInFront(t, f, offset, size);
    Node& taken = nodes_[t];  // after NewNode, which may move the array
    taken.link.userData = userData;
    Node& rest = nodes_[f];
    rest.offset = end;
    rest.size = freeEnd - end;
    nodes_.SetCell(t, TakenCell(SuballocKind::kUnknown));
    ++allocationCount_;
    allocatedBytes_ += size;
    // f's list rarely changes (it is mostly the block's tail); when it does, the move is a tail call.
    if (rest.size < listBounds_[list]) return RelistShrunkAndReturn(f, list, {AllocHandle{t} + 1, offset});
    return {AllocHandle{t} + 1, offset};
}

bool TlsfMetadata::CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                                 AllocationRequest* request) {
    Placement p;
    if (!Find<false>(size, alignment, kind, flags, &p)) return false;
    request->offset = p.offset;
    request->size = size;
    request->item = p.node;
    request->algorithmData = p.size;
    request->type = p.list;
    return true;
}

AllocHandle TlsfMetadata::Commit(const AllocationRequest& request, SuballocKind kind, void* userData) {
    Placement p;
    p.node = static_cast<std::uint32_t>(request.item);
    p.list = request.type;
    p.offset = request.offset;
    p.size = request.algorithmData;
    assert(p.node < nodes_.size() && nodes_.IsFree(p.node) && nodes_[p.node].size != 0);
    assert(p.list == ListIndex(nodes_[p.node].size));
    return Place<false>(p, kind, userData);
}

template <bool kVirtual>
VMA_TLSF_INLINE void TlsfMetadata::FreeImpl(std::uint32_t n) {
    assert(n < nodes_.size() && !nodes_.IsFree(n) && nodes_[n].size != 0);
    Node& node = nodes_[n];
    const std::uint32_t prev = node.prevPhys;
    const std::uint32_t next = node.nextPhys;
    const Size nodeSize = node.size;
    const Size allocSize = kVirtual ? nodeSize : nodeSize - marginSum_;
    if constexpr (!kVirtual) {
        if (granularityMode_ == GranularityMode::kPageTable) {
            ReleasePages(node.offset + config_.marginBefore, allocSize);
        }
    }
    --allocationCount_;
    allocatedBytes_ -= allocSize;

    // Free-ness and lists of the neighbours come from their cells; their nodes are touched only to
    // merge.
    const bool prevFree = prev != kNil && nodes_.IsFree(prev);
    const bool nextFree = next != kNil && nodes_.IsFree(next);
    if (prevFree) {
        // prev absorbs the node (and next, if free).
        Node& p = nodes_[prev];
        Size merged = p.size + nodeSize;
        std::uint32_t after = next;
        if (nextFree) {
            Node& x = nodes_[next];
            merged += x.size;
            after = x.nextPhys;
            UnlinkFree<true>(next, CellList(nodes_.cell(next)));
            --freeNodeCount_;
            ReleaseNode(next);
        }
        p.size = merged;
        p.nextPhys = after;
        if (after != kNil) nodes_[after].prevPhys = prev;
        ReleaseNode(n);
        RelistGrown<kVirtual>(prev, CellList(nodes_.cell(prev)));
    } else if (nextFree) {
        // next absorbs the node (next is often the block's tail: its list rarely changes).
        Node& x = nodes_[next];
        const std::uint32_t nextList = CellList(nodes_.cell(next));
        x.offset = node.offset;
        x.size += nodeSize;
        x.prevPhys = prev;
        if (prev != kNil) {
            nodes_[prev].nextPhys = next;
        } else {
            firstNode_ = next;
        }
        ReleaseNode(n);
        RelistGrown<kVirtual>(next, nextList);
    } else {
        InsertFreeAt<true>(n, FastListIndex<kVirtual>(nodeSize));
    }
}

VMA_TLSF_NOINLINE void TlsfMetadata::FreeGeneral(std::uint32_t n) { FreeImpl<false>(n); }

void TlsfMetadata::Free(AllocHandle handle) {
    if (handle == kNullHandle) return;
    const auto n = static_cast<std::uint32_t>(handle - 1);
    if (!virtualLayout_) return FreeGeneral(n);
    FreeImpl<true>(n);
}

void TlsfMetadata::FreeVirtual(AllocHandle handle) {
    assert(handle != kNullHandle && virtualLayout_);
    FreeImpl<true>(static_cast<std::uint32_t>(handle - 1));
}

// ---------------------------------------------------------------------------------------------
// Walk and statistics

void TlsfMetadata::Walk(const std::function<void(const RangeInfo&)>& visit) const {
    // Free nodes and the margins next to them are reported as one free range.
    RangeInfo pending;  // free range being accumulated
    pending.offset = 0;
    pending.size = 0;
    auto flush = [&] {
        if (pending.size != 0) visit(pending);
        pending.size = 0;
    };
    for (std::uint32_t n = firstNode_; n != kNil; n = nodes_[n].nextPhys) {
        const Node& node = nodes_[n];
        if (nodes_.IsFree(n)) {
            if (pending.size == 0) pending.offset = node.offset;
            pending.size += node.size;
            continue;
        }
        if (config_.marginBefore != 0) {
            if (pending.size == 0) pending.offset = node.offset;
            pending.size += config_.marginBefore;
        }
        flush();
        RangeInfo alloc;
        alloc.offset = node.offset + config_.marginBefore;
        alloc.size = node.size - marginSum_;
        alloc.free = false;
        alloc.kind = nodes_.kind(n);
        alloc.handle = AllocHandle{n} + 1;
        alloc.userData = node.link.userData;
        visit(alloc);
        if (config_.marginAfter != 0) {
            pending.offset = alloc.offset + alloc.size;
            pending.size = config_.marginAfter;
        }
    }
    flush();
}

void TlsfMetadata::AddStatistics(Statistics& stats) const {
    stats.blockCount += 1;
    stats.allocationCount += static_cast<std::uint32_t>(allocationCount_);
    stats.blockBytes += config_.size;
    stats.allocationBytes += allocatedBytes_;
}

// ---------------------------------------------------------------------------------------------
// Validate

bool TlsfMetadata::ValidateGranularity(std::string* why) const {
    const Size g = config_.bufferImageGranularity;
    if (g == 1) return true;
    const std::uint32_t shift = Msb64(g);
    // Per page where allocations begin or end: how many allocations of each kind do so. Pages come
    // in non-decreasing order along the physical list.
    struct PageUse {
        Size page;
        std::array<std::uint32_t, 6> perKind;
    };
    std::vector<PageUse> uses;
    auto touch = [&](Size page, SuballocKind kind) {
        if (uses.empty() || uses.back().page != page) uses.push_back({page, {}});
        ++uses.back().perKind[static_cast<unsigned>(kind)];
    };
    for (std::uint32_t n = firstNode_; n != kNil; n = nodes_[n].nextPhys) {
        const Node& node = nodes_[n];
        if (nodes_.IsFree(n)) continue;
        const SuballocKind kind = nodes_.kind(n);
        const Size offset = node.offset + config_.marginBefore;
        const Size size = node.size - marginSum_;
        if (granularityMode_ == GranularityMode::kRound && NeedsOwnPages(kind) &&
            ((offset & (g - 1)) != 0 || (size & (g - 1)) != 0)) {
            return Fail(why, "allocation at " + std::to_string(offset) +
                                 " of an image-like kind is not rounded to bufferImageGranularity");
        }
        const Size first = offset >> shift, last = (offset + size - 1) >> shift;
        touch(first, kind);
        if (last != first) touch(last, kind);
    }
    for (const PageUse& use : uses) {
        for (unsigned a = 1; a < 6; ++a) {
            for (unsigned b = a; b < 6; ++b) {
                const bool together = a == b ? use.perKind[a] > 1 : (use.perKind[a] != 0 && use.perKind[b] != 0);
                if (together && KindsConflict(static_cast<SuballocKind>(a), static_cast<SuballocKind>(b))) {
                    return Fail(why, "granularity page " + std::to_string(use.page) + " holds conflicting kinds " +
                                         SuballocKindName(static_cast<SuballocKind>(a)) + " and " +
                                         SuballocKindName(static_cast<SuballocKind>(b)));
                }
            }
        }
    }
    if (granularityMode_ != GranularityMode::kPageTable) return true;
    if (pages_.size() != static_cast<std::size_t>((config_.size + g - 1) >> shift)) {
        return Fail(why, "page table has the wrong number of pages");
    }
    std::size_t next = 0;
    for (std::size_t p = 0; p < pages_.size(); ++p) {
        std::array<std::uint32_t, 6> perKind{};
        if (next < uses.size() && uses[next].page == p) perKind = uses[next++].perKind;
        std::uint32_t count = 0;
        for (std::uint32_t c : perKind) count += c;
        const Page& page = pages_[p];
        if (page.count != count) {
            return Fail(why, "page " + std::to_string(p) + " counts " + std::to_string(page.count) +
                                 " allocations, the nodes say " + std::to_string(count));
        }
        if ((count == 0) != (page.kind == SuballocKind::kFree)) {
            return Fail(why, "page " + std::to_string(p) + " kind disagrees with its count");
        }
        for (unsigned k = 1; k < 6; ++k) {
            if (perKind[k] != 0 && static_cast<unsigned>(page.kind) != k &&
                KindsConflict(page.kind, static_cast<SuballocKind>(k))) {
                return Fail(why, "page " + std::to_string(p) + " kind " + SuballocKindName(page.kind) +
                                     " is not compatible with its allocation of kind " +
                                     SuballocKindName(static_cast<SuballocKind>(k)));
            }
        }
    }
    return true;
}

bool TlsfMetadata::Validate(std::string* why) const {
    const std::size_t slotCount = nodes_.size();
    // Physical list.
    std::size_t physical = 0, freeNodes = 0, allocations = 0;
    Size allocated = 0, expectedOffset = 0;
    std::uint32_t prev = kNil;
    bool prevFree = false;
    if (config_.size == 0) {
        if (firstNode_ != kNil) return Fail(why, "empty block has nodes");
    } else if (firstNode_ == kNil) {
        return Fail(why, "block has no nodes");
    }
    for (std::uint32_t n = firstNode_; n != kNil; n = nodes_[n].nextPhys) {
        if (n >= slotCount) return Fail(why, "node link out of range");
        if (++physical > slotCount) return Fail(why, "physical list has a cycle");
        const Node& node = nodes_[n];
        const std::string at = " (node at offset " + std::to_string(node.offset) + ")";
        if (node.size == 0) return Fail(why, "released slot in the physical list" + at);
        if (node.offset != expectedOffset) {
            return Fail(why, "gap or overlap: node starts at " + std::to_string(node.offset) + ", expected " +
                                 std::to_string(expectedOffset));
        }
        if (node.prevPhys != prev) return Fail(why, "prevPhys link broken" + at);
        const bool isFree = nodes_.IsFree(n);
        if (isFree) {
            if (prevFree) return Fail(why, "two adjacent free nodes" + at);
            ++freeNodes;
        } else {
            if (node.size <= marginSum_) return Fail(why, "taken node smaller than its margins" + at);
            if (nodes_.cell(n) != TakenCell(nodes_.kind(n))) return Fail(why, "taken node's cell holds a list" + at);
            if (static_cast<unsigned>(nodes_.kind(n)) >= 6) return Fail(why, "bad kind" + at);
            ++allocations;
            allocated += node.size - marginSum_;
        }
        prevFree = isFree;
        expectedOffset = node.offset + node.size;
        prev = n;
    }
    if (expectedOffset != config_.size) {
        return Fail(why, "nodes end at " + std::to_string(expectedOffset) + ", block size " +
                             std::to_string(config_.size));
    }
    if (allocations != allocationCount_) return Fail(why, "allocation count mismatch");
    if (allocated != allocatedBytes_) return Fail(why, "allocated bytes mismatch");
    if (freeNodes != freeNodeCount_) return Fail(why, "free node count mismatch");

    // Slot free chain.
    std::size_t released = 0;
    for (std::uint32_t n = freeSlot_; n != kNil; n = nodes_[n].nextPhys) {
        if (n >= slotCount) return Fail(why, "slot chain link out of range");
        if (++released > slotCount) return Fail(why, "slot chain has a cycle");
        if (nodes_[n].size != 0) return Fail(why, "slot chain holds a live node");
        if (nodes_.cell(n) != FreeCell(0)) return Fail(why, "released slot keeps an allocation's cell");
    }
    if (physical + released != slotCount) return Fail(why, "node slots leaked");

    // Free lists and bitmaps.
    std::size_t listed = 0;
    if (heads_.size() != std::size_t{classCount_} * kListsPerClass) return Fail(why, "list array size");
    for (std::uint32_t cls = 0; cls < kMaxClasses; ++cls) {
        std::uint32_t expectedBits = 0;
        for (std::uint32_t second = 0; second < kListsPerClass && cls < classCount_; ++second) {
            const std::uint32_t list = (cls << kSecondLevelBits) | second;
            std::uint32_t prevFreeNode = kNil;
            std::size_t length = 0;
            for (std::uint32_t n = heads_[list]; n != kNil; n = nodes_[n].link.free.next) {
                if (n >= slotCount) return Fail(why, "free list link out of range");
                if (++length > slotCount) return Fail(why, "free list has a cycle");
                const Node& node = nodes_[n];
                const std::string at =
                    " (list " + std::to_string(list) + ", node at " + std::to_string(node.offset) + ")";
                if (node.size == 0 || !nodes_.IsFree(n)) return Fail(why, "non-free node in a free list" + at);
                if (ListIndex(node.size) != list) return Fail(why, "node in the wrong list for its size" + at);
                if (CellList(nodes_.cell(n)) != list) return Fail(why, "node's cell names another list" + at);
                if (node.link.free.prev != prevFreeNode) return Fail(why, "free list prev link broken" + at);
                prevFreeNode = n;
            }
            listed += length;
            if (length != 0) expectedBits |= 1u << second;
        }
        if (listBitmaps_[cls] != expectedBits) {
            return Fail(why, "list bitmap of class " + std::to_string(cls) + " does not match list emptiness");
        }
        if (((classBitmap_ >> cls) & 1u) != (expectedBits != 0 ? 1u : 0u)) {
            return Fail(why, "class bitmap bit " + std::to_string(cls) + " does not match its lists");
        }
    }
    if (listed != freeNodes) return Fail(why, "free lists hold " + std::to_string(listed) + " nodes, " +
                                                  std::to_string(freeNodes) + " free nodes exist");
    return ValidateGranularity(why);
}

}  // namespace vma::core
