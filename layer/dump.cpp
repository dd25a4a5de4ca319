// State map triggers and the input the core's writer needs (see dump.h).
//
// Consistency: each pool is walked once under its own lock (core::BuildStateMap), so its blocks
// and statistics agree even while other threads allocate; own allocations come from a
// generation-checked walk of the slot table; names from a copy taken under the names lock. No
// lock is held across a driver call.
#include "dump.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <tuple>
#include <unordered_map>

#include "intercepts.h"
#include "layer.h"
#include "memory.h"
#include "pool.h"
#include "state_map.h"

namespace vma::layer {
namespace {

std::atomic<std::uint64_t> gDumpSequence{0};  // %n: dumps written by this process

const char* TriggerName(DumpTrigger trigger) {
    switch (trigger) {
        case DumpTrigger::kDestroy:
            return "destroy";
        case DumpTrigger::kOom:
            return "oom";
        case DumpTrigger::kIdle:
            return "idle";
        case DumpTrigger::kPresent:
            return "present";
    }
    return "?";
}

bool Requested(const Settings& s, DumpTrigger trigger) {
    switch (trigger) {
        case DumpTrigger::kDestroy:
            return s.dumpOnDestroy;
        case DumpTrigger::kOom:
            return s.dumpOnOom;
        case DumpTrigger::kIdle:
            return s.dumpOnIdle;
        case DumpTrigger::kPresent:
            return s.dumpEveryPresents != 0;
    }
    return false;
}

// "%p" → process id, "%n" → dump number, "%%" → "%".
std::string ExpandPath(const std::string& pattern, std::uint64_t number) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '%' && i + 1 < pattern.size()) {
            const char c = pattern[i + 1];
            if (c == 'p' || c == 'n' || c == '%') {
                out += c == 'p' ? std::to_string(getpid()) : c == 'n' ? std::to_string(number) : std::string("%");
                ++i;
                continue;
            }
        }
        out += pattern[i];
    }
    return out;
}

// One state map item from what was bound to a memory object: one kind of resource keeps its
// type and OR-ed usage; nothing bound, or buffers and images together, is UNKNOWN with usage 0.
core::StateMapAllocation Describe(std::uint8_t kinds, std::uint64_t usage, std::string name) {
    core::StateMapAllocation a;
    a.name = std::move(name);
    switch (kinds) {
        case kResourceBuffer:
            a.kind = core::SuballocKind::kBuffer;
            break;
        case kResourceImageOptimal:
            a.kind = core::SuballocKind::kImageOptimal;
            break;
        case kResourceImageLinear:
            a.kind = core::SuballocKind::kImageLinear;
            break;
        case kResourceImageUnknown:
            a.kind = core::SuballocKind::kImageUnknown;
            break;
        default:
            a.kind = core::SuballocKind::kUnknown;
            return a;
    }
    a.usage = usage;
    return a;
}

const char* AlgorithmName(core::Algorithm a) {
    switch (a) {
        case core::Algorithm::kTlsf:
            return "TLSF";
        case core::Algorithm::kLinear:
            return "LINEAR";
        case core::Algorithm::kBuddy:
            return "BUDDY";
    }
    return "?";
}

std::string PoolName(const MemoryManager::PoolKey& key) {
    static const char* kPriorities[] = {"0", "0.25", "0.5", "0.75", "1"};
    std::string name;
    if (key.deviceAddress) name = "device address";
    if (key.priorityBucket != MemoryManager::kDefaultPriorityBucket && key.priorityBucket < 5) {
        name += std::string(name.empty() ? "" : ", ") + "priority " + kPriorities[key.priorityBucket];
    }
    return name;
}

// The preferred block size a pool of this type would get (the core's rule).
core::Size PreferredBlockSize(const DeviceData& d, std::uint32_t type) {
    core::PoolConfig config;
    config.heapSize = d.memoryProperties.memoryHeaps[d.memoryProperties.memoryTypes[type].heapIndex].size;
    config.preferredBlockSize = d.instance->settings.blockSize;
    return core::PreferredBlockSize(config);
}

bool WriteAtomically(const std::string& path, std::uint64_t number, const std::string& text, std::string* why) {
    // The temporary file sits beside the target (same file system), so the rename is atomic; its
    // name is unique per process and dump, so dumps from several threads never share one.
    const std::string temp = path + ".tmp" + std::to_string(getpid()) + "_" + std::to_string(number);
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) {
            *why = std::string("cannot create ") + temp + ": " + std::strerror(errno);
            return false;
        }
        out << text << '\n';
        out.close();
        if (!out) {
            *why = std::string("cannot write ") + temp + ": " + std::strerror(errno);
            std::remove(temp.c_str());
            return false;
        }
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        *why = std::string("cannot rename ") + temp + " to " + path + ": " + std::strerror(errno);
        std::remove(temp.c_str());
        return false;
    }
    return true;
}

}  // namespace

std::string BuildDeviceStateMap(DeviceData& d, const char* trigger) {
    const VkPhysicalDeviceMemoryProperties& mp = d.memoryProperties;
    const Settings& settings = d.instance->settings;
    VkPhysicalDeviceProperties props{};
    d.instance->dispatch.GetPhysicalDeviceProperties(d.physicalDevice, &props);

    core::StateMapInput in;
    in.general.apiVersion = std::to_string(VK_API_VERSION_MAJOR(props.apiVersion)) + "." +
                            std::to_string(VK_API_VERSION_MINOR(props.apiVersion)) + "." +
                            std::to_string(VK_API_VERSION_PATCH(props.apiVersion));
    in.general.gpu = props.deviceName;
    in.general.deviceType = props.deviceType;
    in.general.maxMemoryAllocationCount = props.limits.maxMemoryAllocationCount;
    in.general.bufferImageGranularity = props.limits.bufferImageGranularity;
    in.general.nonCoherentAtomSize = props.limits.nonCoherentAtomSize;
    in.general.extra = {
        {"Layer", std::string(kLayerName)},
        {"Trigger", std::string(trigger)},
        {"AppAllocations", d.memory->LiveObjectCount()},
        {"DriverAllocations", d.counters.liveDriverObjects.load(std::memory_order_relaxed)},
    };
    for (std::uint32_t h = 0; h < mp.memoryHeapCount; ++h) {
        VkDeviceSize usage = 0, budget = 0;
        d.memory->GetHeapBudget(h, &usage, &budget);
        in.heaps.push_back({mp.memoryHeaps[h].size, mp.memoryHeaps[h].flags, budget, usage});
    }
    for (std::uint32_t t = 0; t < mp.memoryTypeCount; ++t) {
        in.types.push_back({mp.memoryTypes[t].heapIndex, mp.memoryTypes[t].propertyFlags});
    }

    // Names: a copy, so that no lock but the pool's is held while the pools are walked.
    std::unordered_map<std::uint64_t, std::string> names;
    {
        std::lock_guard<std::mutex> lock(d.memory->namesMutex);
        names = d.memory->names;
    }
    std::unordered_map<const MemoryObject*, const std::string*> pooledNames;
    for (const auto& [handle, name] : names) {
        if (const MemoryObject* o = d.memory->LookupQuiet(reinterpret_cast<VkDeviceMemory>(handle))) {
            pooledNames[o] = &name;
        }
    }

    // One default pool entry per memory type (dedicated allocations are filed there), plus one
    // custom pool per other key of the type, in key order.
    std::vector<core::StateMapPool> defaults(mp.memoryTypeCount);
    std::map<std::tuple<std::uint32_t, bool, std::uint32_t>, core::StateMapPool> custom;
    for (std::uint32_t t = 0; t < mp.memoryTypeCount; ++t) {
        defaults[t].memoryType = t;
        defaults[t].preferredBlockSize = PreferredBlockSize(d, t);
    }
    d.memory->ForEachPoolKeyed([&](const MemoryManager::PoolKey& key, const core::Pool& pool) {
        const bool isDefault = !key.deviceAddress && key.priorityBucket == MemoryManager::kDefaultPriorityBucket;
        core::StateMapPool& p =
            isDefault ? defaults[key.memoryType] : custom[{key.memoryType, key.deviceAddress, key.priorityBucket}];
        p.memoryType = key.memoryType;
        p.isDefault = isDefault;
        p.name = isDefault ? std::string() : PoolName(key);
        p.preferredBlockSize = pool.PreferredBlockSize();
        p.pool = &pool;
        // Host-visible blocks are mapped once for life.
        p.mapRefCount = (mp.memoryTypes[key.memoryType].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) ? 1 : 0;
        p.blockFacts = {{"Algorithm", std::string(AlgorithmName(
                                          settings.algorithmPerType[key.memoryType].value_or(settings.algorithm)))}};
    });
    d.memory->ForEachOwnObject([&](const MemoryManager::OwnObject& o) {
        if (o.memoryType >= mp.memoryTypeCount) return;
        auto name = names.find(reinterpret_cast<std::uint64_t>(o.handle));
        defaults[o.memoryType].dedicated.push_back(
            {o.size, Describe(o.boundKind, o.boundUsage, name == names.end() ? std::string() : name->second)});
    });
    in.pools = std::move(defaults);
    for (auto& [key, pool] : custom) in.pools.push_back(std::move(pool));

    // Called under each pool's lock: reads only the record's atomics and the copy of the names.
    // A pooled range's user data is its MemoryObject, which stays allocated while the range does.
    in.describe = [&pooledNames](const core::RangeInfo& range) {
        const auto* object = static_cast<const MemoryObject*>(range.userData);
        if (!object) return core::StateMapAllocation{};
        auto name = pooledNames.find(object);
        return Describe(object->boundKind.load(std::memory_order_relaxed),
                        object->boundUsage.load(std::memory_order_relaxed),
                        name == pooledNames.end() ? std::string() : *name->second);
    };
    return core::BuildStateMap(in);
}

void DumpIfRequested(DeviceData& d, DumpTrigger trigger) {
    const Settings& settings = d.instance->settings;
    if (settings.dumpFile.empty() || !Requested(settings, trigger)) return;
    if (trigger == DumpTrigger::kOom) {
        // A program that probes how much memory it can get fails allocations in a loop: one map a
        // second is enough to see the state, and keeps the disk from filling with them.
        if (!d.oomDumpGate.Take()) return;
    }
    const std::uint64_t number = gDumpSequence.fetch_add(1, std::memory_order_relaxed);
    const std::string path = ExpandPath(settings.dumpFile, number);
    std::string text, why;
    try {
        text = BuildDeviceStateMap(d, TriggerName(trigger));
    } catch (const std::exception& e) {
        why = std::string("building the state map failed: ") + e.what();
    }
    if (why.empty() && WriteAtomically(path, number, text, &why)) {
        d.reporter().Report(Severity::kInfo, "VMA-dump",
                            std::string("state map (") + TriggerName(trigger) + ") written to " + path);
        return;
    }
    d.reporter().Report(Severity::kWarning, "VMA-dump-failed",
                        std::string("state map (") + TriggerName(trigger) + ") not written: " + why);
}

void OnPresent(DeviceData& d) {
    const std::uint32_t every = d.instance->settings.dumpEveryPresents;
    if (every == 0 || d.instance->settings.dumpFile.empty()) return;
    if ((d.presentCount.fetch_add(1, std::memory_order_relaxed) + 1) % every == 0) {
        DumpIfRequested(d, DumpTrigger::kPresent);
    }
}

// The app's present, then the present:N trigger.
VkResult QueuePresentKHR(VkQueue queue, const VkPresentInfoKHR* pPresentInfo) {
    DeviceData* d = GetDeviceData(queue);
    VkResult result;
    {
        auto lock = LockSharedQueue(*d, queue);  // the layer may submit to this queue (corruption.h)
        result = d->dispatch.QueuePresentKHR(queue, pPresentInfo);
    }
    OnPresent(*d);
    return result;
}

}  // namespace vma::layer
