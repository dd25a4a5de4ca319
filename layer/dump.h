// State map triggers (settings dump_file, dump_on): at vkDestroyDevice, when an app allocation
// fails, after every vkDeviceWaitIdle (queue.cpp), after every N-th vkQueuePresentKHR. The map itself is written by the core
// (src/state_map.h); this file fills its input from the device: properties, budgets, every pool
// with its key, the layer's own allocations, and what the app bound and named.
#pragma once

#include <string>

namespace vma::layer {

struct DeviceData;

enum class DumpTrigger { kDestroy, kOom, kIdle, kPresent };

// Writes the state map to the dump_file setting when `trigger` is one of dump_on. Never fails the
// app: an unwritable path is reported (once per dump) and the program carries on.
void DumpIfRequested(DeviceData& device, DumpTrigger trigger);

// Counts a present and dumps on every N-th one (dump_on present:N).
void OnPresent(DeviceData& device);

// The state map of `device` now, as JSON text (VMA's vmaBuildStatsString(detailedMap = true)).
std::string BuildDeviceStateMap(DeviceData& device, const char* trigger);

}  // namespace vma::layer
