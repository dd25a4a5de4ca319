// BuddyMetadata: the buddy allocator of VMA 2.2–2.3 (VmaBlockMetadata_Buddy) for one block.
//
// THE ALGORITHM
// The usable part of the block is the largest power of two ≤ the block size. It is the root of a
// binary tree: a node of level L covers usableSize >> L bytes at an offset that is a multiple of
// its size. A node is FREE, an ALLOCATION, or SPLIT into two children of half its size, which are
// each other's "buddy". Each level keeps a doubly linked list of its free nodes.
//
//   Allocate: the target level is the deepest one whose node size still holds the request (with its
//   margins). The free lists are searched from the target level up to the root; the first free
//   node whose offset satisfies the alignment is taken and split down to the target level. Each
//   split pushes both children to the front of the child level's free list, left child in front,
//   and continues with the left child, so allocations pack towards low addresses.
//   Free: the node becomes free; while its buddy is free too, both are deleted and their parent
//   becomes free (merge), up to the root.
//
// Costs: a request is rounded up to a power of two (internal fragmentation, reported as a free
// range right after the allocation, as VMA's statistics did). When the block size is not a power
// of two, the tail [usableSize, size) can never be allocated; it is reported as one more free range
// by Walk and in the statistics, and counted in GetSumFreeSize (as VMA 2.3 did). Prefer
// power-of-two block sizes.
//
// Constants and choices:
//   - Minimum node size 32 (VMA's MIN_NODE_SIZE) for real blocks. For virtual blocks (isVirtual),
//     where units are arbitrary (often elements, not bytes), the minimum node size is 1: a node of
//     32 units would waste up to 31 elements per allocation. VMA 2.3 had no virtual blocks.
//   - At most 48 levels (VMA used 30). With 32-byte nodes the two agree for every block up to
//     2^34 bytes; the higher cap lets virtual blocks with 1-unit nodes use 48 levels.
//   - bufferImageGranularity: for UNKNOWN, IMAGE_UNKNOWN and IMAGE_OPTIMAL, the alignment and the
//     size used to choose the node are raised to at least the granularity (VMA 2.3). Such a node
//     then covers whole pages, so nothing can share a page with it; every conflicting pair of
//     kinds involves one of these three.
//   - Margins (VMA 2.3 did not support them with buddy; we do, so a guard never writes into a
//     neighbour): the allocation starts at node offset + AlignUp(marginBefore, alignment), and the
//     node must also hold marginAfter bytes after it. Margins are counted as free.
//   - The handle is allocation offset + 1; Free and the getters find the node by descending the
//     tree by offset (O(levels)).
//
// INVARIANTS (checked by Validate)
//   - The root covers [0, usableSize); a SPLIT node has two children of the next level at its
//     offset and at its offset + half its size, whose parent is it and whose buddies are each other;
//     no node below the last level is split.
//   - No SPLIT node has two FREE children (buddies are always merged).
//   - Every FREE node is in exactly the free list of its level, and every list entry is a FREE
//     node of that level; the list links are consistent.
//   - An ALLOCATION node holds its allocation and both margins; the allocation needed more than
//     half of the node (else it would have been split further) unless the node is of the last level.
//   - Allocation count, allocated bytes and free node count match the tree; every node in the
//     node pool is either in the tree or on the spare list.
#pragma once

#include <vector>

#include "metadata.h"

namespace vma::core {

class BuddyMetadata : public Metadata {
  public:
    static constexpr Size kMinNodeSize = 32;        // real blocks (VMA's MIN_NODE_SIZE)
    static constexpr Size kMinNodeSizeVirtual = 1;  // virtual blocks: any unit
    static constexpr std::uint32_t kMaxLevels = 48;

    BuddyMetadata() = default;

    void Init(const MetadataConfig& config) override;
    Size GetSize() const override { return config_.size; }
    std::size_t GetAllocationCount() const override { return allocationCount_; }
    std::size_t GetFreeRegionsCount() const override;
    Size GetSumFreeSize() const override { return config_.size - allocatedBytes_; }
    bool IsEmpty() const override { return allocationCount_ == 0; }

    bool CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                       AllocationRequest* request) override;
    AllocHandle Commit(const AllocationRequest& request, SuballocKind kind, void* userData) override;
    void Free(AllocHandle handle) override;
    void Clear() override;

    Size GetOffset(AllocHandle handle) const override { return handle - 1; }
    Size GetAllocationSize(AllocHandle handle) const override;
    void* GetUserData(AllocHandle handle) const override;
    void SetUserData(AllocHandle handle, void* userData) override;

    void Walk(const std::function<void(const RangeInfo&)>& visit) const override;
    void AddStatistics(Statistics& stats) const override;
    bool Validate(std::string* why = nullptr) const override;

    // Introspection for tests and dumps.
    Size GetUsableSize() const { return usableSize_; }
    Size GetUnusableSize() const { return config_.size - usableSize_; }
    std::uint32_t GetLevelCount() const { return levelCount_; }
    Size NodeSize(std::uint32_t level) const { return usableSize_ >> level; }
    std::size_t GetFreeNodeCount() const { return freeNodeCount_; }
    // The size of the node that holds the allocation (its power-of-two footprint).
    Size GetNodeSize(AllocHandle handle) const;

  private:
    using NodeIndex = std::uint32_t;
    static constexpr NodeIndex kNoNode = ~NodeIndex{0};
    enum class NodeType : std::uint8_t { kFree, kAllocation, kSplit };

    struct Node {
        Size offset = 0;
        NodeType type = NodeType::kFree;
        std::uint32_t level = 0;
        NodeIndex parent = kNoNode;
        NodeIndex buddy = kNoNode;
        NodeIndex prev = kNoNode;  // kFree: free list links
        NodeIndex next = kNoNode;
        NodeIndex leftChild = kNoNode;  // kSplit: the right child is the left child's buddy
        // kAllocation:
        Size allocOffset = 0;
        Size allocSize = 0;
        Size needed = 0;  // bytes the request needed in its node (alignment padding, size, margins)
        void* userData = nullptr;
        SuballocKind kind = SuballocKind::kFree;
    };

    NodeIndex NewNode();
    void DeleteNode(NodeIndex node);
    void PushFreeFront(NodeIndex node);
    void RemoveFree(NodeIndex node);
    NodeIndex FindAllocation(Size offset) const;
    void WalkNode(NodeIndex node, const std::function<void(const RangeInfo&)>& visit) const;

    MetadataConfig config_;
    Size usableSize_ = 0;
    Size minNodeSize_ = kMinNodeSize;
    std::uint32_t levelCount_ = 1;
    std::vector<Node> nodes_;               // node pool; indices are stable
    std::vector<NodeIndex> spareNodes_;     // unused slots of nodes_
    std::vector<NodeIndex> freeListFront_;  // per level
    NodeIndex root_ = kNoNode;
    std::size_t allocationCount_ = 0;
    std::size_t freeNodeCount_ = 0;
    Size allocatedBytes_ = 0;
};

}  // namespace vma::core
