// BuddyMetadata: see buddy_metadata.h for the algorithm and its invariants.
#include "buddy_metadata.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace vma::core {
namespace {

bool CheckedAdd(Size a, Size b, Size* out) { return !__builtin_add_overflow(a, b, out); }

// Largest power of two ≤ x (0 for 0).
Size PrevPow2(Size x) {
    if (x == 0) return 0;
    Size p = 1;
    while (p <= x / 2) p <<= 1;
    return p;
}

// Kinds whose node is raised to the granularity so that it owns whole pages.
bool NeedsOwnPages(SuballocKind kind) {
    return kind == SuballocKind::kUnknown || kind == SuballocKind::kImageUnknown || kind == SuballocKind::kImageOptimal;
}

}  // namespace

void BuddyMetadata::Init(const MetadataConfig& config) {
    config_ = config;
    if (config_.bufferImageGranularity == 0) config_.bufferImageGranularity = 1;
    assert(IsPow2(config_.bufferImageGranularity));
    usableSize_ = PrevPow2(config_.size);
    minNodeSize_ = config_.isVirtual ? kMinNodeSizeVirtual : kMinNodeSize;
    levelCount_ = 1;
    while (levelCount_ < kMaxLevels && NodeSize(levelCount_) >= minNodeSize_) ++levelCount_;
    Clear();
}

void BuddyMetadata::Clear() {
    nodes_.clear();
    spareNodes_.clear();
    freeListFront_.assign(levelCount_, kNoNode);
    allocationCount_ = 0;
    freeNodeCount_ = 0;
    allocatedBytes_ = 0;
    root_ = NewNode();
    PushFreeFront(root_);
}

BuddyMetadata::NodeIndex BuddyMetadata::NewNode() {
    NodeIndex index;
    if (!spareNodes_.empty()) {
        index = spareNodes_.back();
        spareNodes_.pop_back();
        nodes_[index] = Node{};
    } else {
        index = static_cast<NodeIndex>(nodes_.size());
        nodes_.emplace_back();
    }
    return index;
}

void BuddyMetadata::DeleteNode(NodeIndex node) {
    nodes_[node] = Node{};
    spareNodes_.push_back(node);
}

void BuddyMetadata::PushFreeFront(NodeIndex node) {
    Node& n = nodes_[node];
    n.type = NodeType::kFree;
    n.prev = kNoNode;
    n.next = freeListFront_[n.level];
    if (n.next != kNoNode) nodes_[n.next].prev = node;
    freeListFront_[n.level] = node;
    ++freeNodeCount_;
}

void BuddyMetadata::RemoveFree(NodeIndex node) {
    Node& n = nodes_[node];
    assert(n.type == NodeType::kFree);
    if (n.prev != kNoNode) {
        nodes_[n.prev].next = n.next;
    } else {
        freeListFront_[n.level] = n.next;
    }
    if (n.next != kNoNode) nodes_[n.next].prev = n.prev;
    n.prev = kNoNode;
    n.next = kNoNode;
    --freeNodeCount_;
}

bool BuddyMetadata::CreateRequest(Size size, Size alignment, SuballocKind kind, std::uint32_t flags,
                                  AllocationRequest* request) {
    (void)flags;  // buddy has no strategies and no upper address
    if (request == nullptr || size == 0) return false;
    if (alignment == 0) alignment = 1;
    if (!IsPow2(alignment)) return false;

    // Granularity: such a node covers whole pages of its own.
    Size sizeInNode = size;
    const Size page = config_.bufferImageGranularity;
    if (page > 1 && NeedsOwnPages(kind)) {
        alignment = std::max(alignment, page);
        sizeInNode = std::max(size, page);
    }
    // Node offsets are aligned to the alignment, so the front margin rounds up to it.
    if (config_.marginBefore > kWholeSize - (alignment - 1)) return false;
    const Size front = AlignUp(config_.marginBefore, alignment);
    Size needed = 0;
    if (!CheckedAdd(front, sizeInNode, &needed) || !CheckedAdd(needed, config_.marginAfter, &needed)) return false;
    if (needed > usableSize_) return false;

    std::uint32_t targetLevel = 0;
    while (targetLevel + 1 < levelCount_ && NodeSize(targetLevel + 1) >= needed) ++targetLevel;

    // Smallest fitting free node first, then larger ones up to the root.
    for (std::uint32_t level = targetLevel + 1; level-- > 0;) {
        for (NodeIndex node = freeListFront_[level]; node != kNoNode; node = nodes_[node].next) {
            if (nodes_[node].offset % alignment == 0) {
                request->offset = nodes_[node].offset + front;
                request->size = size;
                request->item = node;
                request->algorithmData = needed;
                request->type = targetLevel;
                return true;
            }
        }
    }
    return false;
}

AllocHandle BuddyMetadata::Commit(const AllocationRequest& request, SuballocKind kind, void* userData) {
    NodeIndex node = static_cast<NodeIndex>(request.item);
    const std::uint32_t targetLevel = request.type;
    assert(node < nodes_.size() && nodes_[node].type == NodeType::kFree);
    assert(nodes_[node].level <= targetLevel && targetLevel < levelCount_);
    RemoveFree(node);

    // Split down to the target level, always continuing with the left child.
    while (nodes_[node].level < targetLevel) {
        const std::uint32_t childLevel = nodes_[node].level + 1;
        const NodeIndex left = NewNode();  // may reallocate nodes_: use indices only
        const NodeIndex right = NewNode();
        nodes_[left].offset = nodes_[node].offset;
        nodes_[right].offset = nodes_[node].offset + NodeSize(childLevel);
        for (NodeIndex child : {left, right}) {
            nodes_[child].level = childLevel;
            nodes_[child].parent = node;
        }
        nodes_[left].buddy = right;
        nodes_[right].buddy = left;
        nodes_[node].type = NodeType::kSplit;
        nodes_[node].leftChild = left;
        PushFreeFront(right);
        PushFreeFront(left);
        RemoveFree(left);
        node = left;
    }

    Node& n = nodes_[node];
    assert(request.offset >= n.offset && request.offset + request.size <= n.offset + NodeSize(n.level));
    n.type = NodeType::kAllocation;
    n.allocOffset = request.offset;
    n.allocSize = request.size;
    n.needed = request.algorithmData;
    n.userData = userData;
    n.kind = kind == SuballocKind::kFree ? SuballocKind::kUnknown : kind;
    ++allocationCount_;
    allocatedBytes_ += request.size;
    return request.offset + 1;
}

BuddyMetadata::NodeIndex BuddyMetadata::FindAllocation(Size offset) const {
    if (root_ == kNoNode) return kNoNode;
    NodeIndex node = root_;
    while (nodes_[node].type == NodeType::kSplit) {
        const NodeIndex left = nodes_[node].leftChild;
        const NodeIndex right = nodes_[left].buddy;
        node = offset < nodes_[right].offset ? left : right;
    }
    if (nodes_[node].type == NodeType::kAllocation && nodes_[node].allocOffset == offset) return node;
    return kNoNode;
}

void BuddyMetadata::Free(AllocHandle handle) {
    if (handle == kNullHandle) return;
    NodeIndex node = FindAllocation(handle - 1);
    assert(node != kNoNode && "BuddyMetadata::Free: unknown handle");
    if (node == kNoNode) return;
    --allocationCount_;
    allocatedBytes_ -= nodes_[node].allocSize;
    nodes_[node] =
        Node{nodes_[node].offset, NodeType::kFree, nodes_[node].level, nodes_[node].parent, nodes_[node].buddy};

    // Merge with free buddies up the tree.
    while (nodes_[node].level > 0 && nodes_[nodes_[node].buddy].type == NodeType::kFree) {
        const NodeIndex buddy = nodes_[node].buddy;
        const NodeIndex parent = nodes_[node].parent;
        RemoveFree(buddy);
        DeleteNode(node);
        DeleteNode(buddy);
        nodes_[parent].type = NodeType::kFree;
        nodes_[parent].leftChild = kNoNode;
        node = parent;
    }
    PushFreeFront(node);
}

Size BuddyMetadata::GetAllocationSize(AllocHandle handle) const {
    const NodeIndex node = FindAllocation(handle - 1);
    assert(node != kNoNode);
    return node != kNoNode ? nodes_[node].allocSize : 0;
}

Size BuddyMetadata::GetNodeSize(AllocHandle handle) const {
    const NodeIndex node = FindAllocation(handle - 1);
    assert(node != kNoNode);
    return node != kNoNode ? NodeSize(nodes_[node].level) : 0;
}

void* BuddyMetadata::GetUserData(AllocHandle handle) const {
    const NodeIndex node = FindAllocation(handle - 1);
    assert(node != kNoNode);
    return node != kNoNode ? nodes_[node].userData : nullptr;
}

void BuddyMetadata::SetUserData(AllocHandle handle, void* userData) {
    const NodeIndex node = FindAllocation(handle - 1);
    assert(node != kNoNode);
    if (node != kNoNode) nodes_[node].userData = userData;
}

void BuddyMetadata::WalkNode(NodeIndex node, const std::function<void(const RangeInfo&)>& visit) const {
    const Node& n = nodes_[node];
    const Size nodeEnd = n.offset + NodeSize(n.level);
    switch (n.type) {
        case NodeType::kFree:
            if (nodeEnd > n.offset)
                visit(RangeInfo{n.offset, nodeEnd - n.offset, true, SuballocKind::kFree, kNullHandle, nullptr});
            break;
        case NodeType::kAllocation: {
            if (n.allocOffset > n.offset) {
                visit(RangeInfo{n.offset, n.allocOffset - n.offset, true, SuballocKind::kFree, kNullHandle, nullptr});
            }
            visit(RangeInfo{n.allocOffset, n.allocSize, false, n.kind, n.allocOffset + 1, n.userData});
            const Size allocEnd = n.allocOffset + n.allocSize;
            if (nodeEnd > allocEnd) {
                visit(RangeInfo{allocEnd, nodeEnd - allocEnd, true, SuballocKind::kFree, kNullHandle, nullptr});
            }
            break;
        }
        case NodeType::kSplit:
            WalkNode(n.leftChild, visit);
            WalkNode(nodes_[n.leftChild].buddy, visit);
            break;
    }
}

void BuddyMetadata::Walk(const std::function<void(const RangeInfo&)>& visit) const {
    if (root_ != kNoNode) WalkNode(root_, visit);
    if (config_.size > usableSize_) {
        // The unusable tail of a non-power-of-two block.
        visit(RangeInfo{usableSize_, config_.size - usableSize_, true, SuballocKind::kFree, kNullHandle, nullptr});
    }
}

std::size_t BuddyMetadata::GetFreeRegionsCount() const {
    std::size_t count = 0;
    Walk([&](const RangeInfo& r) { count += r.free ? 1 : 0; });
    return count;
}

void BuddyMetadata::AddStatistics(Statistics& stats) const {
    stats.blockCount += 1;
    stats.blockBytes += config_.size;
    stats.allocationCount += static_cast<std::uint32_t>(allocationCount_);
    stats.allocationBytes += allocatedBytes_;
}

bool BuddyMetadata::Validate(std::string* why) const {
    auto fail = [why](const std::string& message) {
        if (why != nullptr) *why = "buddy: " + message;
        return false;
    };
    if (usableSize_ != PrevPow2(config_.size)) return fail("usable size is not the largest power of two <= size");
    if (levelCount_ < 1 || levelCount_ > kMaxLevels || freeListFront_.size() != levelCount_) {
        return fail("level count out of range");
    }
    if (levelCount_ < kMaxLevels && NodeSize(levelCount_) >= minNodeSize_) return fail("too few levels");
    if (levelCount_ > 1 && NodeSize(levelCount_ - 1) < minNodeSize_) return fail("node smaller than the minimum");
    if (root_ == kNoNode || root_ >= nodes_.size()) return fail("no root node");
    {
        const Node& r = nodes_[root_];
        if (r.offset != 0 || r.level != 0 || r.parent != kNoNode || r.buddy != kNoNode) return fail("bad root node");
    }

    // Walk the tree with an explicit stack.
    std::vector<std::size_t> freePerLevel(levelCount_, 0);
    std::size_t treeNodes = 0;
    std::size_t allocations = 0;
    Size allocated = 0;
    std::vector<NodeIndex> stack{root_};
    while (!stack.empty()) {
        const NodeIndex index = stack.back();
        stack.pop_back();
        if (index >= nodes_.size()) return fail("node index out of range");
        if (++treeNodes > nodes_.size()) return fail("tree has a cycle");
        const Node& n = nodes_[index];
        if (n.level >= levelCount_) return fail("node level out of range");
        const Size nodeSize = NodeSize(n.level);
        if (nodeSize != 0 && n.offset % nodeSize != 0) return fail("node offset not a multiple of its size");
        const std::string at =
            " (node at offset " + std::to_string(n.offset) + ", level " + std::to_string(n.level) + ")";
        switch (n.type) {
            case NodeType::kFree:
                ++freePerLevel[n.level];
                break;
            case NodeType::kAllocation: {
                ++allocations;
                allocated += n.allocSize;
                if (n.allocSize == 0 || n.kind == SuballocKind::kFree)
                    return fail("empty or kind-less allocation" + at);
                Size end = 0;
                if (n.allocOffset < n.offset + config_.marginBefore || !CheckedAdd(n.allocOffset, n.allocSize, &end) ||
                    !CheckedAdd(end, config_.marginAfter, &end) || end > n.offset + nodeSize) {
                    return fail("allocation or its margins outside its node" + at);
                }
                if (n.needed > nodeSize || n.needed < end - n.offset) return fail("needed size inconsistent" + at);
                if (n.level + 1 < levelCount_ && NodeSize(n.level + 1) >= n.needed) {
                    return fail("allocation node could have been split further" + at);
                }
                if (config_.bufferImageGranularity > 1 && NeedsOwnPages(n.kind) &&
                    nodeSize < config_.bufferImageGranularity) {
                    return fail("granularity-sensitive allocation shares a page" + at);
                }
                break;
            }
            case NodeType::kSplit: {
                if (n.level + 1 >= levelCount_) return fail("node of the last level is split" + at);
                const NodeIndex left = n.leftChild;
                if (left >= nodes_.size()) return fail("split node without children" + at);
                const NodeIndex right = nodes_[left].buddy;
                if (right >= nodes_.size() || nodes_[right].buddy != left) return fail("children are not buddies" + at);
                const Node& l = nodes_[left];
                const Node& r = nodes_[right];
                if (l.parent != index || r.parent != index) return fail("child parent link wrong" + at);
                if (l.level != n.level + 1 || r.level != n.level + 1) return fail("child level wrong" + at);
                if (l.offset != n.offset || r.offset != n.offset + NodeSize(n.level + 1))
                    return fail("child offset wrong" + at);
                if (l.type == NodeType::kFree && r.type == NodeType::kFree)
                    return fail("two free buddies not merged" + at);
                stack.push_back(right);
                stack.push_back(left);
                break;
            }
        }
    }
    if (treeNodes + spareNodes_.size() != nodes_.size()) return fail("node pool leaks or double-counts nodes");

    // Free lists.
    std::size_t listed = 0;
    for (std::uint32_t level = 0; level < levelCount_; ++level) {
        std::size_t count = 0;
        NodeIndex prev = kNoNode;
        for (NodeIndex node = freeListFront_[level]; node != kNoNode; node = nodes_[node].next) {
            if (node >= nodes_.size() || ++count > nodes_.size()) return fail("free list broken or cyclic");
            const Node& n = nodes_[node];
            if (n.type != NodeType::kFree || n.level != level)
                return fail("free list holds a non-free node or one of another level");
            if (n.prev != prev) return fail("free list back link wrong");
            prev = node;
        }
        if (count != freePerLevel[level]) {
            return fail("free list of level " + std::to_string(level) + " does not match the free nodes");
        }
        listed += count;
    }
    if (listed != freeNodeCount_) return fail("free node count wrong");
    if (allocations != allocationCount_) return fail("allocation count wrong");
    if (allocated != allocatedBytes_ || allocated > usableSize_) return fail("allocated bytes wrong");
    return true;
}

}  // namespace vma::core
