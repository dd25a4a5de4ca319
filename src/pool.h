// Pool: the blocks of one pool key and VMA 3.x's block policy. Real memory comes from a
// BlockSource (the layer's driver-facing implementation, or a fake in tests).
//
// Thread safety: every public member may be called from any thread. One mutex per pool guards the
// blocks and their metadata; it is never held while the BlockSource allocates or frees a block
// (a driver allocation can take milliseconds).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metadata.h"

namespace vma::core {

// Where a pool gets real memory. `cookie` identifies the block to the source (e.g. the real
// VkDeviceMemory and its mapping); the pool never interprets it.
class BlockSource {
public:
    virtual ~BlockSource() = default;
    // Returns true and sets *cookie on success; false when the memory cannot be had.
    virtual bool AllocateBlock(Size size, std::uint64_t* cookie) = 0;
    virtual void FreeBlock(std::uint64_t cookie, Size size) = 0;
    // Heap budget (bytes the process may use) and current usage, if the source knows them.
    // Called without the pool lock, on every Free and before every new block: keep it cheap and
    // thread-safe. AllocateBlock and FreeBlock are also called without the pool lock, possibly
    // from several threads (and several pools) at once.
    virtual bool GetBudget(Size* usage, Size* budget) {
        (void)usage;
        (void)budget;
        return false;
    }
};

struct PoolConfig {
    Algorithm algorithm = Algorithm::kTlsf;
    std::uint32_t allocFlags = 0;        // strategy flags passed to every allocation
    Size heapSize = 0;                    // size of the heap the blocks come from
    Size preferredBlockSize = 0;          // 0: VMA's rule (heap ≤ 1 GiB → heap/8 aligned to 32, else
                                          // 256 MiB; heapSize 0 means unknown → 256 MiB)
    bool fixedBlockSize = false;          // true: every block is preferredBlockSize (no ⅛→1 growth)
    Size bufferImageGranularity = 1;
    Size marginBefore = 0;
    Size marginAfter = 0;
    std::uint32_t keepEmptyBlocks = 1;    // empty blocks kept as hysteresis (VMA keeps one)
    // Empty blocks beyond keepEmptyBlocks are released only after staying empty this long (0: at
    // once, VMA's rule). A program that frees everything and allocates it again (a level reload,
    // a benchmark repetition) then reuses its blocks instead of asking the driver for each again.
    // Over budget, empty blocks are still released at once.
    std::uint64_t emptyBlockGraceNs = 0;
    // Monotonic time in nanoseconds for the grace period; null: std::chrono::steady_clock.
    std::uint64_t (*clock)() = nullptr;
    // true: never ask the source for a block larger than budget - usage (a too-large candidate
    // counts as a source failure, so the pool halves it; less than `size` left → kOutOfMemory).
    // VMA does this when it can fall back to a dedicated allocation; set it when the caller falls
    // back to own memory on kOutOfMemory.
    bool newBlocksWithinBudget = false;
};

// The preferred block size a pool with this config gets (VMA's rule; see pool.cpp).
Size PreferredBlockSize(const PoolConfig& config);

class Block {
public:
    std::uint64_t cookie = 0;  // from BlockSource::AllocateBlock
    Size size = 0;
    std::uint32_t id = 0;      // unique within the pool, in creation order
    std::unique_ptr<Metadata> metadata;
    // Cached by the pool (under its lock) after every change of the metadata, so that ordering the
    // blocks reads no metadata: metadata->GetSumFreeSize() and IsEmpty().
    Size freeBytes = 0;
    bool empty = true;
    std::uint64_t emptySince = 0;  // clock time the block last became empty (grace period)
};

struct PoolAllocation {
    Block* block = nullptr;
    AllocHandle handle = kNullHandle;
    Size offset = 0;  // offset of the allocation inside the block (after any front margin)
    Size size = 0;
};

enum class PoolResult { kSuccess, kOutOfMemory, kTooLarge };

class Pool {
public:
    Pool(const PoolConfig& config, BlockSource& source);
    ~Pool();  // returns every block to the source
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    Size PreferredBlockSize() const;
    // VMA's "dedicated preferred" rule: larger than half a preferred block → own memory.
    bool PrefersOwnMemory(Size size) const;

    // Existing blocks first, then a new block (⅛ → ¼ → ½ → 1 of preferred as blocks grow),
    // halving the new block on source failure. kTooLarge when size + margins exceed a block.
    // alignment: a power of two, 0 means 1. size 0 is refused (kOutOfMemory; Vulkan forbids it).
    // On failure *out is reset (block null, handle kNullHandle).
    PoolResult Allocate(Size size, Size alignment, SuballocKind kind, void* userData, PoolAllocation* out);
    // Frees one allocation; releases empty blocks beyond keepEmptyBlocks (the largest empty blocks
    // are the ones kept), or all empty blocks when the source reports usage ≥ budget. A null
    // allocation (block null or handle kNullHandle) is a no-op.
    void Free(const PoolAllocation& allocation);
    // Frees every empty block now (e.g. on budget pressure).
    void TrimEmptyBlocks();
    // Releases the empty blocks beyond keepEmptyBlocks whose grace period has run out. Cheap when
    // there are none (one atomic load); callers may call it often (e.g. once per queue submission).
    void TrimExpiredEmptyBlocks();

    Statistics GetStatistics() const;
    DetailedStatistics CalculateDetailedStatistics() const;
    // Calls visit for each block in increasing id order, with the pool lock held.
    void ForEachBlock(const std::function<void(const Block&)>& visit) const;
    // Validates every block's metadata and the pool's own invariants (unique ids, block sizes,
    // counters, block order, at most keepEmptyBlocks empty blocks unless a grace period is set),
    // under the pool lock.
    bool Validate(std::string* why = nullptr) const;

private:
    // implementation-defined members
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vma::core
