// TlsfMetadata: the default block algorithm, a two-level segregated fit (TLSF) allocator after
// Masmano et al. (ECRTS'04) with the constants of VMA 3.x's VmaBlockMetadata_TLSF.
//
// THE ALGORITHM
// A block [0, size) is cut into nodes that lie back to back in address order (a doubly linked
// "physical" list). A node is either taken (one allocation, with its margins) or free. Every free
// node sits in exactly one segregated free list chosen by its size:
//
//   class 0       sizes [0, 256): 4 lists of 64 B (real blocks) or 32 lists of 8 units (virtual).
//   class c ≥ 1   sizes [2^(c+7), 2^(c+8)): 32 lists (second-level index = the 5 bits below the
//                 most significant bit), so a list is 1/32 of its class wide (~3 % size classes).
//
// List index = class * 32 + second-level index. One 64-bit word has a bit per class that has a
// non-empty list, and one 32-bit word per class has a bit per non-empty list. "The first non-empty
// list at or above L" is therefore two count-trailing-zeros: O(1), whatever the block holds.
//
// Finding room for `size` bytes aligned to `alignment` (need = marginBefore + size + marginAfter):
//   exact list  E = the list that holds nodes of size `need`; nodes there may or may not fit.
//   sure list   S = the first list whose every node is ≥ need + alignment − 1; any node there fits
//                   whatever its offset (bufferImageGranularity page conflicts aside).
//   default     alignment 1: the head of the first non-empty list ≥ S (O(1); VMA's default
//               order, whose "next list" is S at alignment 1). Aligned requests: first probe at
//               most kAlignedProbeLimit nodes in the non-empty lists of [E, S) (a good fit that
//               checks the padding precisely: S lies alignment − 1 units higher), then that head.
//   min-time    the head of the first non-empty list ≥ S first, then as default.
//   min-memory  best fit, bounded: in the lowest list with a fitting node, the smallest fitting
//               node (every node above that list is larger), examining at most kBestFitLimit
//               nodes below S and as many again from S on (FindBestFit).
//   min-offset  the lowest-addressed free node that fits (a walk in address order; O(n)).
// If those steps find nothing, every list from E upward is searched, so a request fails only when
// no free node can hold it. The free tail of the block is an ordinary free node: it usually is the
// largest one, so the search reaches it only after the holes that fit.
//
// Placing an allocation in free node F: the taken node starts at (aligned offset − marginBefore)
// and ends after marginAfter. The padding in front of it (alignment, or a granularity page bump)
// stays a free node (F itself, or a new node when F also keeps a remainder behind the allocation);
// the remainder stays free. No merge with a previous free node is needed: F's previous node is
// never free (see the invariants). Freeing merges the node with a free previous and a free next
// node, O(1). Nodes come from a slot vector with an intrusive free chain; a handle is slot + 1.
//
// Speed: a node is 32 bytes (offset, size, physical links, free links or user data) in a 64-byte
// aligned array; a parallel array of 16-bit cells holds each node's kind and, for a free node, its
// free list, so Free learns whether its neighbours are free and which lists they are in without
// loading their nodes. Free's list operations have no branch on where a node sits in its list
// (head or not, last or not): for the neighbours it merges with that is data, and the
// mispredictions cost a free a tenth to a quarter of its time. Virtual blocks (fine small classes, no
// margins, no granularity) run a specialised copy of the search, placement and free (the kVirtual
// template argument), whose size-class mapping has no branch; VirtualBlock calls
// TlsfMetadata::AllocateVirtual directly, not through the Metadata vtable, and that function writes
// out the commonest placement (the front of the head of a list that surely fits, a remainder
// staying behind) without any call inside, so that its registers are saved only past the argument
// checks; a padding in front, an exact fit, a full node array and the rare strategies are
// out-of-line calls, as is the slow search. A free node that shrinks keeps its list iff it is still
// at least the list's lower bound, read from a table. Nodes and cells share one buffer grown with
// realloc (see NodeArray).
//
// Margins live inside the taken node: [offset − marginBefore, offset + size + marginAfter). They
// count as free space in statistics and appear as (part of) free ranges in Walk.
//
// bufferImageGranularity (g), VMA's VmaBlockBufferImageGranularity rules:
//   g == 1       nothing to do.
//   1 < g ≤ 256  UNKNOWN, IMAGE_UNKNOWN and IMAGE_OPTIMAL requests get alignment ≥ g and a size
//                rounded up to g; every conflicting pair involves one of them, so no two
//                conflicting allocations can share a page.
//   g > 256      a page table keeps, for the first and the last page of every allocation, the kind
//                that first claimed it and a count. A conflicting kind on the start page moves the
//                offset to the next page; one on the end page rejects the node. (The kind kept is
//                exact enough: the kinds that may share a page form the classes {BUFFER,
//                IMAGE_LINEAR} and {IMAGE_OPTIMAL}; UNKNOWN and IMAGE_UNKNOWN share with nothing.)
//
// INVARIANTS (all checked by Validate)
//   - Nodes cover [0, size) in address order, without gaps or overlap; prev/next links agree.
//   - No two physically adjacent nodes are free (merging is eager).
//   - Every free node is in exactly the list ListIndex(node size); list links agree; a list's bit
//     is set iff the list is non-empty; a class's bit is set iff one of its lists is non-empty.
//   - A taken node is at least marginBefore + 1 + marginAfter long; its kind is not FREE.
//   - A free node's cell names its list; a released slot's cell is FreeCell(0).
//   - allocationCount_, allocatedBytes_ and freeNodeCount_ equal what the node list says; every
//     node slot is either in the physical list or in the slot free chain.
//   - No two allocations whose kinds conflict share a granularity page; the page table (g > 256)
//     holds exactly the counts of the allocations' first/last pages and a kind compatible with them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#include "metadata.h"

namespace vma::core {

class TlsfMetadataTestPeer;  // tests/core: reaches into the state to prove Validate() notices damage

class TlsfMetadata final : public Metadata {
public:
    TlsfMetadata() = default;

    void Init(const MetadataConfig& config) override;
    Size GetSize() const override { return config_.size; }
    std::size_t GetAllocationCount() const override { return allocationCount_; }
    // Free nodes (the free tail included). Margins live in taken nodes and are not counted here.
    std::size_t GetFreeRegionsCount() const override { return freeNodeCount_; }
    Size GetSumFreeSize() const override { return config_.size - allocatedBytes_; }
    bool IsEmpty() const override { return allocationCount_ == 0; }
    // O(1) from the bitmaps: every node of the highest non-empty list is below the next list's
    // lower bound.
    Size GetMaxFreeRangeUpperBound() const override {
        if (classBitmap_ == 0) return 0;
        const auto cls = 63u - static_cast<std::uint32_t>(__builtin_clzll(classBitmap_));
        const auto second = 31u - static_cast<std::uint32_t>(__builtin_clz(listBitmaps_[cls]));
        const Size next = cls == 0 ? Size{second + 1} << smallShift_
                                   : Size{kListsPerClass + second + 1} << (cls + kClassShift - kSecondLevelBits);
        const Size free = GetSumFreeSize();
        return next - 1 < free ? next - 1 : free;
    }

    // request->size is the size asked for; request->algorithmData the size that will be allocated
    // (rounded to bufferImageGranularity for image-like kinds when 1 < g ≤ 256; it is what
    // GetAllocationSize reports, as in VMA).
    bool CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                       AllocationRequest* request) override;
    AllocHandle Commit(const AllocationRequest& request, SuballocKind kind, void* userData) override;
    AllocHandle Allocate(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, void* userData,
                         Size* offset) override;
    // VirtualBlock's call: Allocate with kind UNKNOWN, the handle and offset returned in registers
    // (offset kWholeSize when the handle is null). Same placement as Allocate.
    struct Placed {
        AllocHandle handle;
        Size offset;
    };
    Placed AllocateVirtual(Size size, Size alignment, std::uint32_t flags, void* userData);
    void Free(AllocHandle handle) override;
    // VirtualBlock's call: Free of a handle that is not kNullHandle, in a block of the virtual
    // layout (isVirtual, no margins, no granularity: what VirtualBlock creates), without testing
    // either.
    void FreeVirtual(AllocHandle handle);
    void Clear() override;

    Size GetOffset(AllocHandle handle) const override { return node(handle).offset + config_.marginBefore; }
    Size GetAllocationSize(AllocHandle handle) const override { return node(handle).size - marginSum_; }
    void* GetUserData(AllocHandle handle) const override { return node(handle).link.userData; }
    void SetUserData(AllocHandle handle, void* userData) override { node(handle).link.userData = userData; }

    void Walk(const std::function<void(const RangeInfo&)>& visit) const override;
    void AddStatistics(Statistics& stats) const override;
    bool Validate(std::string* why = nullptr) const override;

    // The size-class encoding, exposed for tests.
    // The list a free node of `size` belongs to.
    std::uint32_t ListIndex(Size size) const;
    // The first list whose every node is ≥ size.
    std::uint32_t ListIndexRoundUp(Size size) const;
    // The smallest size a node of list `list` can have.
    Size ListLowerBound(std::uint32_t list) const;
    std::uint32_t GetListCount() const { return static_cast<std::uint32_t>(heads_.size()); }
    bool UsesPageTable() const { return granularityMode_ == GranularityMode::kPageTable; }

    // VMA's VmaIsBufferImageGranularityConflict.
    static bool KindsConflict(SuballocKind a, SuballocKind b);

    // Nodes an aligned request probes in [exact list, sure list) under the default strategy before
    // it takes the sure list (alignment 1 probes none). Each probe is a dependent cache miss, and
    // most probes past the first fail: [E, S) spans more lists, where a node fits only if its
    // padding leaves room. In VMA's benchmark at alignments 16-256, 2 instead of 8 probes take a
    // fifth to a quarter off the random phase with fragmentation and span unchanged; at alignment
    // 1, where S is the next list, probing 8 nodes cost a fifth of the random phase for 7 % fewer
    // free ranges and the same fragmentation and span (docs/PERFORMANCE.md, ninth round).
    static constexpr std::uint32_t kAlignedProbeLimit = 2;
    // Nodes the min-memory strategy examines below the sure list, and again from the sure list on
    // (FindBestFit).
    static constexpr std::uint32_t kBestFitLimit = 16;

private:
    friend class TlsfMetadataTestPeer;

    static constexpr std::uint32_t kNil = 0xFFFFFFFFu;
    static constexpr std::uint32_t kSecondLevelBits = 5;  // VMA's SECOND_LEVEL_INDEX
    static constexpr std::uint32_t kListsPerClass = 1u << kSecondLevelBits;
    static constexpr Size kSmallSizeLimit = 256;          // class 0 holds sizes below this
    static constexpr std::uint32_t kClassShift = 7;       // class = msb(size) − 7 for size ≥ 256
    static constexpr std::uint32_t kSmallShiftReal = 6;   // 4 lists of 64 B
    static constexpr std::uint32_t kSmallShiftVirtual = 3;  // 32 lists of 8 units
    static constexpr std::uint32_t kMaxClasses = 64;
    static constexpr Size kMaxLowGranularity = 256;       // VMA's MAX_LOW_BUFFER_IMAGE_GRANULARITY
    // The last list of the last class: no block reaches it (2^64 − 1 is in class 56), so it is
    // always empty. ListIndexRoundUp's answer for sizes beyond any block.
    static constexpr std::uint32_t kBeyondLists = kMaxClasses * kListsPerClass - 1;

    // A node's cell: bits 0–2 its kind (SuballocKind::kFree = 0 for free nodes and released
    // slots), bits 3–15 a free node's list (< kMaxClasses · 32; 0 for taken nodes and released
    // slots). Storing the list saves recomputing it from the size, which needs the node.
    using Cell = std::uint16_t;
    static constexpr unsigned kCellKindBits = 3;
    static constexpr Cell kCellKindMask = (1u << kCellKindBits) - 1;
    static_assert(kMaxClasses * kListsPerClass <= (1u << (16 - kCellKindBits)));
    static constexpr Cell FreeCell(std::uint32_t list) { return static_cast<Cell>(list << kCellKindBits); }
    static constexpr Cell TakenCell(SuballocKind kind) { return static_cast<Cell>(kind); }
    static constexpr bool IsFreeCell(Cell c) { return (c & kCellKindMask) == 0; }
    static constexpr std::uint32_t CellList(Cell c) { return c >> kCellKindBits; }

    enum class GranularityMode : std::uint8_t { kNone, kRound, kPageTable };

    struct FreeLinks {
        std::uint32_t prev;
        std::uint32_t next;
    };
    // 32 bytes, and the node array is 64-byte aligned: a node never straddles two cache lines.
    // A node's kind and list live in a separate array of cells (NodeArray::cell): Free
    // asks there whether its neighbours are free and in which lists, a small array that stays in
    // L1, and touches a neighbour's node only when it merges with it.
    struct Node {
        Size offset;
        Size size;  // 0 only for a slot in the slot free chain
        std::uint32_t prevPhys;
        std::uint32_t nextPhys;  // also the slot free chain's link
        union Link {
            FreeLinks free;  // free node: neighbours in its free list
            void* userData;  // taken node
        } link;
    };
    static_assert(std::is_trivially_copyable_v<Node>);
    static_assert(sizeof(Node) == 32);

    // Node slots and their cells, in one buffer: the nodes (64-byte aligned, so that a node never
    // straddles two cache lines), then the cells. Grows with realloc: nodes and cells are trivially
    // copyable, and for large buffers realloc remaps pages instead of copying them, so growth
    // touches little memory besides the new slots and the cells (which move behind the nodes).
    class NodeArray {
    public:
        NodeArray() = default;
        ~NodeArray() { std::free(raw_); }
        NodeArray(const NodeArray&) = delete;
        NodeArray& operator=(const NodeArray&) = delete;
        Node& operator[](std::size_t i) { return data_[i]; }
        const Node& operator[](std::size_t i) const { return data_[i]; }
        Cell cell(std::size_t i) const { return cells_[i]; }
        void SetCell(std::size_t i, Cell c) { cells_[i] = c; }
        SuballocKind kind(std::size_t i) const { return static_cast<SuballocKind>(cells_[i] & kCellKindMask); }
        bool IsFree(std::size_t i) const { return IsFreeCell(cells_[i]); }
        // Where slot i's free-list links are, for any i (kNil too, not to be written through):
        // computed without touching the slot, for a branch-free choice of the field to write.
        FreeLinks* FreeLinksOf(std::uint32_t i) {
            return reinterpret_cast<FreeLinks*>(reinterpret_cast<std::uintptr_t>(data_) +
                                                std::uintptr_t{i} * sizeof(Node) + offsetof(Node, link));
        }
        std::size_t size() const { return size_; }
        bool full() const { return size_ == capacity_; }
        void clear() { size_ = 0; }
        // A new slot, uninitialised: the caller sets every field it uses.
        std::uint32_t push() {
            if (size_ == capacity_) Grow();
            return size_++;
        }

    private:
        static constexpr std::uint32_t kInitialCapacity = 64;
        static constexpr std::size_t kAlign = 64;
        // Doubles the capacity.
        __attribute__((noinline)) void Grow() {
            const std::uint32_t capacity = capacity_ == 0 ? kInitialCapacity : capacity_ * 2;
            const std::size_t oldShift = raw_ ? static_cast<std::size_t>(reinterpret_cast<char*>(data_) - raw_) : 0;
            const std::size_t oldCells = oldShift + std::size_t{capacity_} * sizeof(Node);
            char* raw = static_cast<char*>(
                std::realloc(raw_, kAlign + std::size_t{capacity} * (sizeof(Node) + sizeof(Cell))));
            if (raw == nullptr) throw std::bad_alloc();
            const std::size_t shift = (kAlign - reinterpret_cast<std::uintptr_t>(raw) % kAlign) % kAlign;
            // The cells first: their new place lies beyond everything the buffer held (the capacity
            // at least doubles, from 64), and the nodes' new place may overlap their old one.
            const std::size_t cells = shift + std::size_t{capacity} * sizeof(Node);
            if (size_ != 0) {
                std::memmove(raw + cells, raw + oldCells, std::size_t{size_} * sizeof(Cell));
                if (shift != oldShift) std::memmove(raw + shift, raw + oldShift, std::size_t{size_} * sizeof(Node));
            }
            raw_ = raw;
            data_ = reinterpret_cast<Node*>(raw + shift);
            cells_ = reinterpret_cast<Cell*>(raw + cells);
            capacity_ = capacity;
        }
        char* raw_ = nullptr;
        Node* data_ = nullptr;
        Cell* cells_ = nullptr;
        std::uint32_t size_ = 0;
        std::uint32_t capacity_ = 0;
    };

    struct Page {
        std::uint32_t count = 0;
        SuballocKind kind = SuballocKind::kFree;
    };
    // Where an allocation goes: node to carve from, the free list it is in, aligned offset, size
    // to allocate.
    struct Placement {  // filled by the search; no initialisers, they would cost stores
        std::uint32_t node;
        std::uint32_t list;
        Size offset;
        Size size;
    };

    Node& node(AllocHandle handle) { return nodes_[static_cast<std::size_t>(handle - 1)]; }
    const Node& node(AllocHandle handle) const { return nodes_[static_cast<std::size_t>(handle - 1)]; }

    // kVirtual: the configuration of virtual blocks (finer small classes, no margins, no
    // bufferImageGranularity), for which the hot path is compiled without those checks.
    template <bool kVirtual>
    std::uint32_t FastListIndex(Size size) const;
    template <bool kVirtual>
    std::uint32_t FastListIndexRoundUp(Size size) const;
    static std::uint32_t VirtualListIndex(Size size);         // FastListIndex<true>
    static std::uint32_t VirtualListIndexRoundUp(Size size);  // FastListIndexRoundUp<true>, 1 ≤ size ≤ 2^62
    template <bool kVirtual>
    bool Find(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, Placement* out) const;
    template <bool kVirtual>
    std::uint32_t SureList(Size need, Size alignment) const;
    template <bool kVirtual>
    bool FindFrom(std::uint32_t list, std::uint32_t sureList, Size need, Size size, Size alignment, SuballocKind kind,
                  Placement* out) const;
    template <bool kVirtual>
    bool CheckFit(std::uint32_t n, Size size, Size alignment, SuballocKind kind, Placement* out) const;
    bool FindInLists(std::uint32_t firstList, std::uint32_t endList, std::uint32_t budget, Size size, Size alignment,
                     SuballocKind kind, Placement* out) const;
    bool FindBestFit(std::uint32_t firstList, std::uint32_t sureList, Size size, Size alignment, SuballocKind kind,
                     Placement* out) const;
    bool FindLowestOffset(Size size, Size alignment, SuballocKind kind, Placement* out) const;
    template <bool kVirtual>
    AllocHandle Place(const Placement& p, SuballocKind kind, void* userData);
    template <bool kVirtual>
    AllocHandle AllocateImpl(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, void* userData,
                             Size* offset);
    template <bool kVirtual>
    void FreeImpl(std::uint32_t n);
    AllocHandle AllocateGeneral(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, void* userData,
                                Size* offset);
    Placed AllocateVirtualSlow(Size size, Size alignment, std::uint32_t flags, void* userData);
    Placed AllocateVirtualFrom(std::uint32_t list, Size size, Size alignment, void* userData);
    Placed RelistShrunkAndReturn(std::uint32_t f, std::uint32_t list, Placed placed);
    Placed PlaceVirtual(std::uint32_t f, std::uint32_t list, Size offset, Size size, void* userData);
    void FreeGeneral(std::uint32_t n);

    std::uint32_t FirstNonEmptyList(std::uint32_t list) const;
    // Free-list operations. kBranchFree: no branch on the node's place in its list (Free's choice;
    // see the .cpp). LinkFree and UnlinkFree leave freeNodeCount_ alone; InsertFree(At) count.
    template <bool kBranchFree>
    void LinkFree(std::uint32_t n, std::uint32_t list);
    void MarkListNonEmpty(std::uint32_t list);
    template <bool kBranchFree>
    void UnlinkFree(std::uint32_t n, std::uint32_t list);
    void MarkListEmpty(std::uint32_t list);
    template <bool kBranchFree>
    void InsertFreeAt(std::uint32_t n, std::uint32_t list);
    template <bool kVirtual>
    void InsertFree(std::uint32_t n);  // into the list of its size
    // A free node whose size shrank / grew: to the front of its new list, if that is another.
    template <bool kVirtual>
    void RelistShrunk(std::uint32_t n, std::uint32_t oldList);
    template <bool kVirtual>
    void RelistGrown(std::uint32_t n, std::uint32_t oldList);
    void LinkInFront(std::uint32_t n, std::uint32_t f, Size offset, Size size);
    std::uint32_t NewNode();
    void ReleaseNode(std::uint32_t n);

    bool NeedsOwnPages(SuballocKind kind) const;
    void ClaimPages(Size offset, Size size, SuballocKind kind);
    void ReleasePages(Size offset, Size size);
    bool ValidateGranularity(std::string* why) const;

    MetadataConfig config_;
    Size marginSum_ = 0;
    bool virtualLayout_ = false;  // isVirtual, no margins, no granularity: the kVirtual hot path
    GranularityMode granularityMode_ = GranularityMode::kNone;
    std::uint32_t pageShift_ = 0;
    std::uint32_t smallShift_ = kSmallShiftReal;
    std::uint32_t classCount_ = 0;

    NodeArray nodes_;
    std::uint32_t firstNode_ = kNil;   // the node at offset 0
    std::uint32_t freeSlot_ = kNil;    // head of the slot free chain
    std::vector<std::uint32_t> heads_;  // per list: first free node
    // Per list: ListLowerBound. A free node that shrinks stays in list L iff its size is still ≥
    // listBounds_[L].
    std::vector<Size> listBounds_;
    // AllocateVirtual's fast path takes alignments below this (0: never): 2^32 for virtual layouts
    // of blocks below 2^48 units, so that size + alignment − 1 neither wraps nor leaves the lists.
    Size fastAlignLimit_ = 0;
    std::uint64_t classBitmap_ = 0;
    std::array<std::uint32_t, kMaxClasses> listBitmaps_{};
    std::vector<Page> pages_;

    std::size_t allocationCount_ = 0;
    std::size_t freeNodeCount_ = 0;
    Size allocatedBytes_ = 0;
};

}  // namespace vma::core
