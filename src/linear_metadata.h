// LinearMetadata: VMA's linear algorithm (VmaBlockMetadata_Linear) for one block.
//
// THE ALGORITHM
// Allocations are never placed in holes. They are appended at one of three cursors, and space comes
// back only when frees happen at an end. Everything lives in two vectors of suballocations:
//
//   1st vector: allocations in increasing address order. New lower-address allocations go after
//               its last item ("end of 1st").
//   2nd vector: one of three modes.
//     kEmpty        nothing.
//     kRingBuffer   allocations that wrapped around: they are newer than the 1st vector's items but
//                   lie below them, in increasing address order from offset 0 up to (at most) the
//                   first live item of the 1st vector.
//     kDoubleStack  the upper stack: allocations made with kAllocUpperAddress, placed from the end
//                   of the block downward; item i+1 lies below item i, so back() is the lowest.
//
//   kEmpty:        |1st 1st 1st ..........................|
//   kRingBuffer:   |2nd 2nd ....... 1st 1st 1st ..........|
//   kDoubleStack:  |1st 1st 1st .............. 2nd 2nd 2nd|
//
// How each usage pattern falls out of that:
//   free-at-once  allocate in any order, free in any order; space is reused once the block is empty
//                 (every free in the middle only marks a null item; the empty block resets).
//   stack         freeing the last item of the 1st vector pops it, so LIFO frees reuse space.
//   double stack  kAllocUpperAddress allocations form the upper stack; freeing its top pops it. When
//                 the two stacks would meet, the request fails (out of memory).
//   ring buffer   freeing the first live item of the 1st vector advances its front. When the end of
//                 the block is reached, allocations wrap to offset 0 (2nd vector, kRingBuffer) and may
//                 grow up to the front of the 1st vector; when it is in the way, the request fails.
//                 When the 1st vector runs empty, the 2nd becomes the 1st (the vectors swap roles).
//   Ring-buffer and double-stack use exclude each other: an upper-address request fails while the
//   2nd vector is a ring buffer, and no wrap-around happens while it is an upper stack (VMA asserts
//   "CRITICAL ERROR" on the mix; we fail the request instead).
//
// Freeing anything else marks the item "null" (kind kFree, no user data) where it is. Null items
// keep their offset and size so the vectors stay sorted for the binary search that finds an item.
// They are counted: nulls at the front of the 1st vector (null1stBegin_), other nulls in the 1st
// (null1stMiddle_), nulls in the 2nd (null2nd_). After every free, nulls are trimmed from both
// ends of both vectors, and the 1st vector is compacted when it has more than 32 items and
// nulls ≥ 1.5 × live items (VMA's rule).
//
// Margins: every allocation keeps marginBefore bytes free in front of it and marginAfter bytes free
// after it; margins of neighbours never overlap, and neither margin leaves the block.
// bufferImageGranularity: before placing, neighbours on the same granularity page are checked with
// VMA's conflict table. A conflict on the side the cursor comes from moves the new allocation to
// the next page; a conflict on the side it grows towards fails the request.
// (For the upper stack VMA only aligns the offset down; we move the allocation's last byte below the
// conflicting page, which is what the rule requires.)
//
// The allocation handle is offset + 1, as in VMA.
//
// INVARIANTS (checked by Validate)
//   - kEmpty ⇔ the 2nd vector is empty; kRingBuffer ⇒ the 1st vector has a live item.
//   - The 1st vector's first null1stBegin_ items are null; the rest holds exactly null1stMiddle_
//     nulls; its first item after the null prefix and its last item are live (or it is empty).
//   - The 2nd vector holds exactly null2nd_ nulls; its first and last items are live.
//   - Offsets increase strictly along the 1st vector and a ring-buffer 2nd vector, and decrease
//     strictly along an upper-stack 2nd vector.
//   - Walking live items in address order, each one's front margin starts at or after the previous
//     one's back margin ends; the first front margin starts at ≥ 0 and the last back margin ends at
//     ≤ the block size.
//   - No two live items with a granularity conflict share a page.
//   - sumFree_ = size − Σ live sizes; live items have a kind other than kFree; nulls no user data.
// (The compaction condition is not an invariant: appending live items to a vector of ≤ 32 items
// can make it hold afterwards; it is only re-evaluated after a free, as in VMA.)
#pragma once

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <type_traits>

#include "metadata.h"

namespace vma::core {

class LinearMetadata final : public Metadata {
  public:
    LinearMetadata() = default;

    void Init(const MetadataConfig& config) override;
    Size GetSize() const override { return config_.size; }
    std::size_t GetAllocationCount() const override;
    std::size_t GetFreeRegionsCount() const override;
    Size GetSumFreeSize() const override { return sumFree_; }
    bool IsEmpty() const override { return GetAllocationCount() == 0; }

    bool CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                       AllocationRequest* request) override;
    AllocHandle Commit(const AllocationRequest& request, SuballocKind kind, void* userData) override;
    // Appending after the 1st vector's last item with no margins and no granularity (every virtual
    // block) is done here without building a request; everything else is CreateRequest + Commit.
    AllocHandle Allocate(Size size, Size alignment, SuballocKind kind, std::uint32_t flags, void* userData,
                         Size* offset) override;
    void Free(AllocHandle handle) override;
    void Clear() override;

    Size GetOffset(AllocHandle handle) const override;
    Size GetAllocationSize(AllocHandle handle) const override;
    void* GetUserData(AllocHandle handle) const override;
    void SetUserData(AllocHandle handle, void* userData) override;

    void Walk(const std::function<void(const RangeInfo&)>& visit) const override;
    void AddStatistics(Statistics& stats) const override;
    bool Validate(std::string* why = nullptr) const override;

    // Introspection for tests and dumps.
    enum class SecondMode : std::uint8_t { kEmpty, kRingBuffer, kDoubleStack };
    SecondMode GetSecondMode() const { return mode_; }
    std::size_t GetFirstVectorSize() const { return First().size(); }  // items, null ones included
    std::size_t GetFirstVectorNullCount() const { return null1stBegin_ + null1stMiddle_; }

  private:
    struct Suballoc {
        Size offset = 0;
        Size size = 0;
        void* userData = nullptr;
        SuballocKind kind = SuballocKind::kFree;  // kFree marks a null item
        bool IsNull() const { return kind == SuballocKind::kFree; }
    };
    static_assert(std::is_trivially_copyable_v<Suballoc>);

    // The vector of suballocations: the few std::vector operations the algorithm uses, but grown
    // with realloc. Items are trivially copyable, and for large arrays realloc remaps pages instead
    // of copying them. (std::vector's growth takes a fresh buffer at every doubling and frees the
    // old one; above glibc's mmap threshold each buffer is a new mapping, page-faulted in again for
    // every block: that was most of an allocation's cost in the benchmark.)
    class SuballocVector {
    public:
        SuballocVector() = default;
        ~SuballocVector() { std::free(data_); }
        SuballocVector(const SuballocVector&) = delete;
        SuballocVector& operator=(const SuballocVector&) = delete;

        std::size_t size() const { return size_; }
        bool empty() const { return size_ == 0; }
        Suballoc* data() { return data_; }
        const Suballoc* data() const { return data_; }
        Suballoc& operator[](std::size_t i) { return data_[i]; }
        const Suballoc& operator[](std::size_t i) const { return data_[i]; }
        Suballoc& front() { return data_[0]; }
        const Suballoc& front() const { return data_[0]; }
        Suballoc& back() { return data_[size_ - 1]; }
        const Suballoc& back() const { return data_[size_ - 1]; }
        Suballoc* begin() { return data_; }
        Suballoc* end() { return data_ + size_; }
        const Suballoc* begin() const { return data_; }
        const Suballoc* end() const { return data_ + size_; }
        std::reverse_iterator<const Suballoc*> rbegin() const { return std::reverse_iterator<const Suballoc*>(end()); }
        std::reverse_iterator<const Suballoc*> rend() const { return std::reverse_iterator<const Suballoc*>(begin()); }

        void push_back(const Suballoc& item) {
            if (size_ == capacity_) Grow();
            data_[size_++] = item;
        }
        void pop_back() { --size_; }
        void clear() { size_ = 0; }
        // Keeps the first `count` items (count ≤ size()).
        void truncate(std::size_t count) { size_ = count; }
        // Removes the first `count` items (count ≤ size()).
        void erase_front(std::size_t count) {
            std::memmove(data_, data_ + count, (size_ - count) * sizeof(Suballoc));
            size_ -= count;
        }

    private:
        static constexpr std::size_t kInitialCapacity = 16;
        __attribute__((noinline)) void Grow() {
            const std::size_t capacity = capacity_ == 0 ? kInitialCapacity : capacity_ * 2;
            void* data = std::realloc(data_, capacity * sizeof(Suballoc));
            if (data == nullptr) throw std::bad_alloc();
            data_ = static_cast<Suballoc*>(data);
            capacity_ = capacity;
        }
        Suballoc* data_ = nullptr;
        std::size_t size_ = 0;
        std::size_t capacity_ = 0;
    };

    // AllocationRequest::type values.
    enum RequestType : std::uint32_t { kEndOf1st = 0, kEndOf2nd = 1, kUpperAddress = 2 };

    SuballocVector& First() { return vectors_[firstIndex_]; }
    const SuballocVector& First() const { return vectors_[firstIndex_]; }
    SuballocVector& Second() { return vectors_[firstIndex_ ^ 1u]; }
    const SuballocVector& Second() const { return vectors_[firstIndex_ ^ 1u]; }

    bool CreateRequestLower(Size size, Size alignment, SuballocKind kind, AllocationRequest* request) const;
    bool CreateRequestUpper(Size size, Size alignment, SuballocKind kind, AllocationRequest* request) const;
    static void FillRequest(Size offset, Size size, std::uint32_t type, AllocationRequest* request);

    const Suballoc* Find(Size offset) const;
    Suballoc* Find(Size offset) {
        return const_cast<Suballoc*>(static_cast<const LinearMetadata*>(this)->Find(offset));
    }
    bool ShouldCompact1st() const;
    void CleanupAfterFree();
    // Calls visit(item) for every live item in increasing address order.
    template <typename Visit>
    void ForEachLive(Visit&& visit) const;

    MetadataConfig config_;
    SuballocVector vectors_[2];
    unsigned firstIndex_ = 0;
    SecondMode mode_ = SecondMode::kEmpty;
    std::size_t null1stBegin_ = 0;
    std::size_t null1stMiddle_ = 0;
    std::size_t null2nd_ = 0;
    Size sumFree_ = 0;
    bool plainAppend_ = false;  // no margins, no granularity: Allocate's append needs no checks
};

}  // namespace vma::core
