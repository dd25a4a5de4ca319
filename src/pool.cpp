// Pool: the blocks of one pool key, with VMA 3.x's block policy (VmaBlockVector).
//
// Block size (VMA `CalcPreferredBlockSize`, vk_mem_alloc.h L13844)
//   The preferred block size is PoolConfig::preferredBlockSize when nonzero; otherwise heap / 8
//   (aligned up to 32) for heaps of at most 1 GiB (VMA_SMALL_HEAP_MAX_SIZE), else 256 MiB
//   (VMA_DEFAULT_LARGE_HEAP_BLOCK_SIZE). A 256 MiB BAR heap thus gets 32 MiB blocks.
//
// Growth (VMA `VmaBlockVector::AllocatePage`, L11730, NEW_BLOCK_SIZE_SHIFT_MAX = 3)
//   A new block starts from the preferred size and is halved, at most 3 times, while the half is
//   larger than the largest existing block and still holds the request twice. Small requests on
//   a large heap therefore get blocks of 32, 64, 128, then 256 MiB: a program that needs little
//   memory never pays for a 256 MiB block. When the source fails, the block is halved further
//   (same total of 3 halvings) while the half still holds the request once. fixedBlockSize turns
//   both off: every block is exactly the preferred size (VMA's explicit `blockSize` pools).
//   The request's footprint (size + margins + alignment padding of the front margin, rounded for
//   bufferImageGranularity) is what must fit; without margins it is the size, as in VMA.
//
// Own memory (VMA `dedicatedPreferred`, `size > preferredBlockSize / 2`)
//   PrefersOwnMemory says whether a request is better served by its own VkDeviceMemory; the
//   caller decides. A request whose footprint exceeds the preferred block size is kTooLarge
//   (VMA's early reject `size + VMA_DEBUG_MARGIN > m_PreferredBlockSize`).
//
// Block choice (VMA `m_Blocks`, incrementally sorted by free bytes, ascending)
//   Blocks are kept sorted by free bytes; after each allocation or free only the touched block
//   changes, so moving that one block to its place keeps the whole order (VMA does one bubble-sort
//   step per call and is only roughly sorted). The default and MIN_MEMORY strategies try the
//   fullest block first, which packs memory and lets the emptiest blocks drain and be released;
//   MIN_TIME tries the emptiest first. Linear pools stay in creation order and only the last block
//   is tried (VMA: linear pools allocate from m_Blocks.back()).
//
// Empty blocks (VMA `VmaBlockVector::Free`, L11932)
//   keepEmptyBlocks empty blocks (VMA: one) are kept so that a free/alloc pair at a block boundary
//   does not hit the driver each time; the largest empty blocks are the ones kept. With a grace
//   period (emptyBlockGraceNs, not in VMA) the others are released only once they have stayed
//   empty that long: checked by later frees and by TrimExpiredEmptyBlocks. When the source
//   reports usage ≥ budget, every empty block is released at once. Blocks are returned to the
//   source after the lock is dropped.
//
// Threads
//   One mutex guards the blocks, their metadata and the counters. It is never held while the
//   source allocates or frees a block (a driver allocation can take milliseconds): Allocate
//   unlocks, gets the block, relocks, inserts it and allocates from it, all under that one relock,
//   so no other thread can take the fresh block first. Only one thread creates a block at a time;
//   others that find no room wait for it and then look again, so a burst of threads missing at
//   once creates one block, not one each (and growth stays 32 → 64 → ...). A source failure (or
//   exception) always clears the "creating" state and wakes the waiters.
#include "pool.h"

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <atomic>
#include <chrono>
#include <utility>

#include "tlsf_metadata.h"

namespace vma::core {

namespace {

constexpr Size kMiB = Size{1} << 20;
constexpr Size kSmallHeapMaxSize = Size{1} << 30;        // VMA_SMALL_HEAP_MAX_SIZE
constexpr Size kDefaultLargeHeapBlockSize = 256 * kMiB;  // VMA_DEFAULT_LARGE_HEAP_BLOCK_SIZE
constexpr Size kPreferredBlockSizeAlignment = 32;        // VMA aligns heap / 8 up to 32
constexpr std::uint32_t kNewBlockSizeShiftMax = 3;       // VMA NEW_BLOCK_SIZE_SHIFT_MAX

}  // namespace

Size PreferredBlockSize(const PoolConfig& config) {
    if (config.preferredBlockSize != 0) {
        return config.preferredBlockSize;
    }
    if (config.heapSize != 0 && config.heapSize <= kSmallHeapMaxSize) {
        return AlignUp(config.heapSize / 8, kPreferredBlockSizeAlignment);
    }
    return kDefaultLargeHeapBlockSize;
}

struct Pool::Impl {
    Impl(const PoolConfig& cfg, BlockSource& src)
        : config(cfg),
          source(src),
          preferredBlockSize(core::PreferredBlockSize(cfg)),
          tlsf(cfg.algorithm == Algorithm::kTlsf) {}

    const PoolConfig config;
    BlockSource& source;
    const Size preferredBlockSize;
    // Every block's metadata is a TlsfMetadata (final): its calls are made directly, not through
    // the vtable, and the small ones are inlined.
    const bool tlsf;
    // Blocks whose `empty` is set. Written under `mutex`; read without it by Free to decide
    // whether the budget needs asking at all (it matters only when there is an empty block).
    std::atomic<std::uint32_t> emptyBlocks{0};

    mutable std::mutex mutex;
    // Everything below is guarded by `mutex`.
    std::condition_variable creationDone;  // signalled when `creatingBlock` goes back to false
    bool creatingBlock = false;
    // Sorted by free bytes, ascending (TLSF, buddy); creation order (linear).
    std::vector<std::unique_ptr<Block>> blocks;
    std::uint32_t nextBlockId = 0;
    Statistics stats;

    bool Linear() const { return config.algorithm == Algorithm::kLinear; }

    std::uint64_t Now() const {
        if (config.clock != nullptr) return config.clock();
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now().time_since_epoch())
                                              .count());
    }

    // Bytes a fresh block needs to hold this request: the front margin rounded up to the alignment
    // (so the allocation itself is aligned), the size, the back margin; with granularity, the size
    // and alignment rounded as a granularity-aware algorithm may round them. Returns false if it
    // cannot fit in a preferred block (or would overflow).
    bool Footprint(Size size, Size alignment, Size* footprint) const {
        const Size limit = preferredBlockSize;
        if (config.bufferImageGranularity > 1 && IsPow2(config.bufferImageGranularity)) {
            if (config.bufferImageGranularity > limit) return false;
            alignment = std::max(alignment, config.bufferImageGranularity);
            if (size > limit) return false;
            size = AlignUp(size, config.bufferImageGranularity);
        }
        if (size > limit || config.marginBefore > limit || config.marginAfter > limit) return false;
        Size front = 0;
        if (config.marginBefore != 0) {
            if (alignment > limit) return false;
            front = AlignUp(config.marginBefore, alignment);
        }
        // Each term ≤ limit, and limit is far below 2^62 for any real heap: no overflow.
        *footprint = front + size + config.marginAfter;
        return *footprint <= limit;
    }

    Size LargestBlockSize() const {
        Size largest = 0;
        for (const auto& block : blocks) largest = std::max(largest, block->size);
        return largest;
    }

    // Updates the block's cached free bytes, bound and emptiness from its metadata.
    template <class M>
    void RefreshAs(Block& block, const M& metadata) {
        block.freeBytes = metadata.GetSumFreeSize();
        const bool empty = metadata.IsEmpty();
        if (empty != block.empty) {
            block.empty = empty;
            const std::uint32_t count = emptyBlocks.load(std::memory_order_relaxed);
            emptyBlocks.store(empty ? count + 1 : count - 1, std::memory_order_relaxed);
        }
    }
    void Refresh(Block& block) {
        if (tlsf) return RefreshAs(block, static_cast<const TlsfMetadata&>(*block.metadata));
        RefreshAs(block, *block.metadata);
    }

    // Moves blocks[index], whose free bytes just changed, to its place in the sorted order.
    void Reposition(std::size_t index) {
        if (Linear()) return;
        const Size free = blocks[index]->freeBytes;
        while (index > 0 && blocks[index - 1]->freeBytes > free) {
            std::swap(blocks[index - 1], blocks[index]);
            --index;
        }
        while (index + 1 < blocks.size() && blocks[index + 1]->freeBytes < free) {
            std::swap(blocks[index + 1], blocks[index]);
            ++index;
        }
    }

    std::size_t IndexOf(const Block* block) const {
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            if (blocks[i].get() == block) return i;
        }
        return blocks.size();
    }

    template <class M>
    __attribute__((always_inline)) bool TryAllocateFromBlockAs(M& metadata, Block& block, std::size_t index, Size size, Size alignment,
                                SuballocKind kind, void* userData, PoolAllocation* out) {
        Size offset = 0;
        const AllocHandle handle = metadata.Allocate(size, alignment, kind, config.allocFlags, userData, &offset);
        if (handle == kNullHandle) return false;
        out->block = &block;
        out->handle = handle;
        out->offset = offset;
        out->size = size;
        stats.allocationCount += 1;
        stats.allocationBytes += metadata.GetAllocationSize(handle);
        RefreshAs(block, metadata);
        Reposition(index);
        return true;
    }

    // Fast reject, without a search: no free range of the block can hold `size` (the TLSF bound is
    // O(1) from its bitmaps; it is never above the free bytes).
    __attribute__((always_inline)) bool TryAllocateFromBlock(std::size_t index, Size size, Size alignment,
                                                             SuballocKind kind, void* userData, PoolAllocation* out) {
        Block& block = *blocks[index];
        if (block.freeBytes < size) return false;
        if (tlsf) {
            auto& metadata = static_cast<TlsfMetadata&>(*block.metadata);
            if (metadata.GetMaxFreeRangeUpperBound() < size) return false;
            return TryAllocateFromBlockAs(metadata, block, index, size, alignment, kind, userData, out);
        }
        if (block.metadata->GetMaxFreeRangeUpperBound() < size) return false;
        return TryAllocateFromBlockAs(*block.metadata, block, index, size, alignment, kind, userData, out);
    }

    bool TryAllocateFromExisting(Size size, Size alignment, SuballocKind kind, void* userData, PoolAllocation* out) {
        if (blocks.empty()) return false;
        if (Linear()) {
            return TryAllocateFromBlock(blocks.size() - 1, size, alignment, kind, userData, out);
        }
        if ((config.allocFlags & kAllocStrategyMinTime) != 0) {
            for (std::size_t i = blocks.size(); i-- > 0;) {
                if (TryAllocateFromBlock(i, size, alignment, kind, userData, out)) return true;
            }
            return false;
        }
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            if (TryAllocateFromBlock(i, size, alignment, kind, userData, out)) return true;
        }
        return false;
    }

    // Removes empty blocks beyond `keep` (keeping the largest, then the oldest) and hands them to
    // `released` so the caller can return them to the source after unlocking. With `onlyExpired`,
    // of those only the ones empty for at least the grace period at time `now` go.
    void TakeEmptyBlocks(std::size_t keep, std::vector<std::unique_ptr<Block>>* released, bool onlyExpired = false,
                         std::uint64_t now = 0) {
        std::vector<Block*> empty;
        for (const auto& block : blocks) {
            if (block->metadata->IsEmpty()) empty.push_back(block.get());
        }
        if (empty.size() <= keep) return;
        std::sort(empty.begin(), empty.end(), [](const Block* a, const Block* b) {
            return a->size != b->size ? a->size > b->size : a->id < b->id;
        });
        empty.erase(empty.begin(), empty.begin() + static_cast<std::ptrdiff_t>(keep));
        if (onlyExpired) {
            const std::uint64_t grace = config.emptyBlockGraceNs;
            empty.erase(std::remove_if(empty.begin(), empty.end(),
                                       [&](const Block* b) { return now - b->emptySince < grace; }),
                        empty.end());
            if (empty.empty()) return;
        }
        auto doomed = [&](const std::unique_ptr<Block>& block) {
            return std::find(empty.begin(), empty.end(), block.get()) != empty.end();
        };
        for (auto& block : blocks) {
            if (doomed(block)) {
                emptyBlocks.store(emptyBlocks.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
                stats.blockCount -= 1;
                stats.blockBytes -= block->size;
                released->push_back(std::move(block));
            }
        }
        blocks.erase(std::remove(blocks.begin(), blocks.end(), nullptr), blocks.end());
    }

    void Release(std::vector<std::unique_ptr<Block>>& released) {
        for (const auto& block : released) source.FreeBlock(block->cookie, block->size);
        released.clear();
    }

    bool OverBudget() {
        Size usage = 0;
        Size budget = 0;
        return source.GetBudget(&usage, &budget) && usage >= budget;
    }

    // Room left under the budget, or kWholeSize when the pool is not asked to respect it.
    Size BudgetLeft() {
        if (!config.newBlocksWithinBudget) return kWholeSize;
        Size usage = 0;
        Size budget = 0;
        if (!source.GetBudget(&usage, &budget)) return kWholeSize;
        return budget > usage ? budget - usage : 0;
    }

    // Gets a new block from the source (called without the lock). Returns null when none can be had.
    std::unique_ptr<Block> CreateBlock(Size footprint, Size largestExisting) {
        Size blockSize = preferredBlockSize;
        std::uint32_t shift = 0;
        if (!config.fixedBlockSize) {
            // half ≥ 2 × footprint, written so that it cannot overflow.
            while (shift < kNewBlockSizeShiftMax && blockSize / 2 > largestExisting && blockSize / 2 / 2 >= footprint) {
                blockSize /= 2;
                ++shift;
            }
        }

        auto block = std::make_unique<Block>();
        block->metadata = CreateMetadata(config.algorithm);
        if (block->metadata == nullptr) return nullptr;  // algorithm not built in
        const Size budgetLeft = BudgetLeft();
        bool allocated = false;
        for (;;) {
            allocated = blockSize <= budgetLeft && source.AllocateBlock(blockSize, &block->cookie);
            if (allocated || config.fixedBlockSize || shift >= kNewBlockSizeShiftMax || blockSize / 2 < footprint) {
                break;
            }
            blockSize /= 2;
            ++shift;
        }
        if (!allocated) return nullptr;
        block->size = blockSize;

        MetadataConfig metadataConfig;
        metadataConfig.size = blockSize;
        metadataConfig.bufferImageGranularity = config.bufferImageGranularity;
        metadataConfig.marginBefore = config.marginBefore;
        metadataConfig.marginAfter = config.marginAfter;
        metadataConfig.isVirtual = false;
        try {
            block->metadata->Init(metadataConfig);
        } catch (...) {
            source.FreeBlock(block->cookie, block->size);
            throw;
        }
        // Cached state of a fresh block; counted in emptyBlocks once inserted (under the lock).
        block->freeBytes = block->metadata->GetSumFreeSize();
        block->empty = false;
        return block;
    }
};

Pool::Pool(const PoolConfig& config, BlockSource& source) : impl_(std::make_unique<Impl>(config, source)) {}

Pool::~Pool() {
    // Blocks still holding allocations are returned too: the device is going away.
    for (const auto& block : impl_->blocks) impl_->source.FreeBlock(block->cookie, block->size);
}

Size Pool::PreferredBlockSize() const { return impl_->preferredBlockSize; }

bool Pool::PrefersOwnMemory(Size size) const { return size > impl_->preferredBlockSize / 2; }

PoolResult Pool::Allocate(Size size, Size alignment, SuballocKind kind, void* userData, PoolAllocation* out) {
    *out = PoolAllocation{};
    Impl& im = *impl_;
    if (alignment == 0) alignment = 1;
    if (size == 0 || !IsPow2(alignment)) return PoolResult::kOutOfMemory;
    Size footprint = 0;
    if (!im.Footprint(size, alignment, &footprint)) return PoolResult::kTooLarge;

    std::unique_lock<std::mutex> lock(im.mutex);
    for (;;) {
        if (im.TryAllocateFromExisting(size, alignment, kind, userData, out)) return PoolResult::kSuccess;
        if (!im.creatingBlock) break;
        // Another thread is getting a block; it may have room for us too. Look again when it is done.
        im.creationDone.wait(lock);
    }

    // This thread creates the next block; whatever happens, let the waiters go afterwards.
    im.creatingBlock = true;
    struct CreationEnd {
        Impl& im;
        std::unique_lock<std::mutex>& lock;
        ~CreationEnd() {
            if (!lock.owns_lock()) lock.lock();
            im.creatingBlock = false;
            im.creationDone.notify_all();
        }
    } creationEnd{im, lock};

    const Size largest = im.LargestBlockSize();
    lock.unlock();
    std::unique_ptr<Block> fresh = im.CreateBlock(footprint, largest);
    lock.lock();
    if (!fresh) return PoolResult::kOutOfMemory;

    fresh->id = im.nextBlockId++;
    im.Refresh(*fresh);  // counts it as empty
    im.stats.blockCount += 1;
    im.stats.blockBytes += fresh->size;
    Block* const freshBlock = fresh.get();
    im.blocks.push_back(std::move(fresh));
    im.Reposition(im.blocks.size() - 1);

    // Straight from the new block, under the same lock hold: no other thread can have used it.
    // (If another thread freed room elsewhere meanwhile, the new block still serves this request.)
    if (im.TryAllocateFromBlock(im.IndexOf(freshBlock), size, alignment, kind, userData, out)) {
        return PoolResult::kSuccess;
    }
    // Only an algorithm that pads beyond the footprint estimate gets here (e.g. buddy rounding a
    // request up to a power of two). The block is empty: keep or release it as any empty block.
    *out = PoolAllocation{};
    std::vector<std::unique_ptr<Block>> released;
    im.TakeEmptyBlocks(im.config.keepEmptyBlocks, &released);
    lock.unlock();
    im.Release(released);
    return PoolResult::kOutOfMemory;
}

void Pool::Free(const PoolAllocation& allocation) {
    if (allocation.block == nullptr || allocation.handle == kNullHandle) return;
    Impl& im = *impl_;
    // The budget decides only whether empty blocks are released, so it is asked only when there
    // is one: before locking, as VMA does, when the pool already holds an empty block; after this
    // free otherwise, if the free left one (then the pool is relocked to release them).
    const bool asked = im.emptyBlocks.load(std::memory_order_relaxed) != 0;
    const bool overBudget = asked && im.OverBudget();
    bool askNow = false;
    std::vector<std::unique_ptr<Block>> released;
    {
        std::lock_guard<std::mutex> lock(im.mutex);
        const std::size_t index = im.IndexOf(allocation.block);
        assert(index < im.blocks.size() && "allocation from another pool, or its block was released");
        if (index == im.blocks.size()) return;
        Block& block = *allocation.block;
        Size bytes;
        if (im.tlsf) {
            auto& metadata = static_cast<TlsfMetadata&>(*block.metadata);
            bytes = metadata.GetAllocationSize(allocation.handle);
            metadata.Free(allocation.handle);
            im.RefreshAs(block, metadata);
        } else {
            Metadata& metadata = *block.metadata;
            bytes = metadata.GetAllocationSize(allocation.handle);
            metadata.Free(allocation.handle);
            im.RefreshAs(block, metadata);
        }
        im.stats.allocationCount -= 1;
        im.stats.allocationBytes -= bytes;
        im.Reposition(index);
        if (overBudget) {
            im.TakeEmptyBlocks(0, &released);
        } else if (im.config.emptyBlockGraceNs == 0) {
            if (block.empty) im.TakeEmptyBlocks(im.config.keepEmptyBlocks, &released);
        } else if (im.emptyBlocks.load(std::memory_order_relaxed) > im.config.keepEmptyBlocks || block.empty) {
            // The clock is read only while there are empty blocks beyond the kept ones.
            const std::uint64_t now = im.Now();
            if (block.empty) block.emptySince = now;
            im.TakeEmptyBlocks(im.config.keepEmptyBlocks, &released, true, now);
        }
        askNow = !asked && im.emptyBlocks.load(std::memory_order_relaxed) != 0;
    }
    if (askNow && im.OverBudget()) {
        std::lock_guard<std::mutex> lock(im.mutex);
        im.TakeEmptyBlocks(0, &released);
    }
    im.Release(released);
}

void Pool::TrimEmptyBlocks() {
    Impl& im = *impl_;
    std::vector<std::unique_ptr<Block>> released;
    {
        std::lock_guard<std::mutex> lock(im.mutex);
        im.TakeEmptyBlocks(0, &released);
    }
    im.Release(released);
}

void Pool::TrimExpiredEmptyBlocks() {
    Impl& im = *impl_;
    if (im.config.emptyBlockGraceNs == 0 || im.emptyBlocks.load(std::memory_order_relaxed) <= im.config.keepEmptyBlocks) {
        return;
    }
    std::vector<std::unique_ptr<Block>> released;
    {
        std::lock_guard<std::mutex> lock(im.mutex);
        im.TakeEmptyBlocks(im.config.keepEmptyBlocks, &released, true, im.Now());
    }
    im.Release(released);
}

Statistics Pool::GetStatistics() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->stats;
}

DetailedStatistics Pool::CalculateDetailedStatistics() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    DetailedStatistics stats;
    for (const auto& block : impl_->blocks) block->metadata->AddDetailedStatistics(stats);
    return stats;
}

void Pool::ForEachBlock(const std::function<void(const Block&)>& visit) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    std::vector<const Block*> byId;
    byId.reserve(impl_->blocks.size());
    for (const auto& block : impl_->blocks) byId.push_back(block.get());
    std::sort(byId.begin(), byId.end(), [](const Block* a, const Block* b) { return a->id < b->id; });
    for (const Block* block : byId) visit(*block);
}

bool Pool::Validate(std::string* why) const {
    const Impl& im = *impl_;
    std::lock_guard<std::mutex> lock(im.mutex);
    auto fail = [why](std::string message) {
        if (why != nullptr) *why = std::move(message);
        return false;
    };

    Statistics sum;
    std::vector<std::uint32_t> ids;
    std::size_t emptyCount = 0;
    for (std::size_t i = 0; i < im.blocks.size(); ++i) {
        const Block* block = im.blocks[i].get();
        const std::string name = "block " + std::to_string(i);
        if (block == nullptr || block->metadata == nullptr) return fail(name + ": null block or metadata");
        const std::string label = "block id " + std::to_string(block->id);
        if (block->size == 0) return fail(label + ": size 0");
        if (block->metadata->GetSize() != block->size) return fail(label + ": metadata size differs from block size");
        if (block->size > im.preferredBlockSize) return fail(label + ": larger than the preferred block size");
        if (im.config.fixedBlockSize && block->size != im.preferredBlockSize) {
            return fail(label + ": fixed-size pool holds a block of another size");
        }
        if (block->id >= im.nextBlockId) return fail(label + ": id never handed out");
        std::string metadataWhy;
        if (!block->metadata->Validate(&metadataWhy)) return fail(label + ": metadata: " + metadataWhy);
        if (!im.Linear() && i > 0 && im.blocks[i - 1]->metadata->GetSumFreeSize() > block->metadata->GetSumFreeSize()) {
            return fail(label + ": blocks not sorted by free bytes");
        }
        if (im.Linear() && i > 0 && im.blocks[i - 1]->id > block->id) {
            return fail(label + ": linear pool blocks not in creation order");
        }
        if (block->freeBytes != block->metadata->GetSumFreeSize() || block->empty != block->metadata->IsEmpty()) {
            return fail(label + ": cached free bytes or emptiness differ from the metadata");
        }
        if (block->metadata->GetMaxFreeRangeUpperBound() > block->freeBytes) {
            return fail(label + ": largest free range bound above the free bytes");
        }
        if (block->metadata->IsEmpty()) ++emptyCount;
        block->metadata->AddStatistics(sum);
        ids.push_back(block->id);
    }
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return fail("block ids not unique");
    if (im.config.emptyBlockGraceNs == 0 && emptyCount > im.config.keepEmptyBlocks) {
        return fail("more empty blocks than keepEmptyBlocks");
    }
    if (emptyCount != im.emptyBlocks.load(std::memory_order_relaxed)) return fail("empty block count differs");
    if (sum.blockCount != im.stats.blockCount || sum.blockBytes != im.stats.blockBytes) {
        return fail("block counters differ from the blocks");
    }
    if (sum.allocationCount != im.stats.allocationCount || sum.allocationBytes != im.stats.allocationBytes) {
        return fail("allocation counters differ from the metadata");
    }
    return true;
}

}  // namespace vma::core
