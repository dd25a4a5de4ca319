// vma_layer_bench: the driver alone vs the driver through VK_LAYER_VMA_suballocator, in one run.
//
// The program links only the Vulkan loader. It creates two instance+device pairs in sequence on
// the same physical device: "driver" (no layer) and "layer" (ppEnabledLayerNames =
// {"VK_LAYER_VMA_suballocator"}; the manifest is found through VK_LAYER_PATH, which
// --layer-path DIR sets before the first Vulkan call). For each memory class present
//   device_local   first type DEVICE_LOCAL and not HOST_VISIBLE (absent on lavapipe)
//   host_visible   first type HOST_VISIBLE|HOST_COHERENT
// it runs the same workload (same sizes, same random orders) in both configurations:
//   alloc        vkAllocateMemory of every object (size mix 256 B .. 1 MiB, printed as "mix")
//   free         vkFreeMemory of every object, in random order
//   roundtrip    with half the objects live: free a random live one + allocate the next size
//                (one op = one free + one allocate)
//   map_unmap    host_visible only: vkMapMemory(whole) + vkUnmapMemory per object
//   flush        host_visible only: vkFlushMappedMemoryRanges of one 256 B range per object
//   bind         vkBindBufferMemory of a 256 B storage buffer to its own allocation (buffer
//                creation, requirement queries and allocations are not timed)
// Every phase runs --reps times; the table shows the median time per op.
//
// Output (one record per line, fixed keys, greppable):
//   date / device_name / device_type / driver_version / driver_name / driver_info / api_version
//   config <driver|layer> vkAllocateMemory_from <library> layer_active <0|1>
//   mix <lo>-<hi> <count> <percent>%        mix_total count <n> bytes <b> mean_bytes <m>
//   class <name> memory_type <i> heap <h> heap_mib <m> flags <FLAGS>
//   note ...                                (fallbacks and skipped phases, in words)
//   result <class> <phase> <n_driver> <n_layer> <driver_us> <layer_us> <ratio> <added_ns>
//       ratio = driver_us / layer_us (> 1: the layer is faster); added_ns = (layer - driver) in
//       ns per op for map_unmap, flush and bind, "-" elsewhere; "-" for a phase not run.
//   round_trip_ratio.<class> <x>
//   round_trip_ratio <x>                    last line: geometric mean over the classes
//
// Driver allocations on real GPUs cost 100-1000+ us, so in the driver configuration a class whose
// probed vkAllocateMemory takes more than --slow-alloc-us (50) runs fewer objects, sized to about
// --driver-budget-s seconds for the class (a "note driver_slow" line says so); the layer
// configuration keeps --count. --check: count 200, reps 1, exit status 1 if any Vulkan call fails
// or the layer is not active in the layer configuration (or active in the driver one).
#include <vulkan/vulkan.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

constexpr const char* kLayerName = "VK_LAYER_VMA_suballocator";
constexpr std::uint64_t kSeed = 0x5EEDB0A710C47E11ull;
constexpr VkDeviceSize kMinSize = 256;
constexpr VkDeviceSize kMaxSize = 1u << 20;
constexpr VkDeviceSize kBindBufferSize = 256;
constexpr VkDeviceSize kFlushSize = 256;

struct Options {
    std::uint32_t count = 10000;
    std::uint32_t reps = 5;
    std::uint32_t deviceIndex = 0;
    bool check = false;
    bool fallback = true;
    double slowAllocUs = 50.0;
    double driverBudgetS = 8.0;
    std::uint32_t usageCount = 10000;  // --usage-count: objects of the memory-usage measurement (0: skip it)
    std::string layerPath;
};

const char* ResultName(VkResult r) {
    switch (r) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_INCOMPLETE: return "VK_INCOMPLETE";
        default: return "VkResult(other)";
    }
}

[[noreturn]] void Die(const std::string& message) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", message.c_str());
    std::printf("error %s\n", message.c_str());
    std::exit(1);
}

void Check(VkResult r, const char* expression, int line) {
    if (r != VK_SUCCESS) {
        Die(std::string(expression) + " returned " + ResultName(r) + " (" + std::to_string(static_cast<int>(r)) +
            ") at layer_bench.cpp:" + std::to_string(line));
    }
}
#define VK_CHECK(expr) Check((expr), #expr, __LINE__)

// splitmix64: the same numbers on every platform and standard library.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t Next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double Uniform() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
    std::uint32_t Below(std::uint32_t n) { return static_cast<std::uint32_t>(Next() % n); }

private:
    std::uint64_t state_;
};

std::vector<std::uint32_t> Permutation(std::uint32_t n, Rng& rng) {
    std::vector<std::uint32_t> p(n);
    for (std::uint32_t i = 0; i < n; ++i) p[i] = i;
    for (std::uint32_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng.Below(i)]);
    return p;
}

// log2(size) = 8 + 12 * u^3: log-uniform skewed to small sizes (about 70% below 4 KiB, 3% at
// 512 KiB and above), rounded down to 16 bytes.
std::vector<VkDeviceSize> MakeSizes(std::uint32_t n) {
    Rng rng(kSeed);
    std::vector<VkDeviceSize> sizes(n);
    for (auto& s : sizes) {
        const double u = rng.Uniform();
        const double log2Size = 8.0 + 12.0 * u * u * u;
        VkDeviceSize size = static_cast<VkDeviceSize>(std::exp2(log2Size)) & ~VkDeviceSize{15};
        s = std::clamp(size, kMinSize, kMaxSize);
    }
    return sizes;
}

std::string FormatBytes(VkDeviceSize b) {
    char buf[32];
    if (b >= (1u << 20) && b % (1u << 20) == 0) {
        std::snprintf(buf, sizeof buf, "%lluMiB", static_cast<unsigned long long>(b >> 20));
    } else if (b >= 1024 && b % 1024 == 0) {
        std::snprintf(buf, sizeof buf, "%lluKiB", static_cast<unsigned long long>(b >> 10));
    } else {
        std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(b));
    }
    return buf;
}

void PrintMix(const std::vector<VkDeviceSize>& sizes) {
    // Power-of-two buckets [2^k, 2^(k+1)); the last one includes 1 MiB itself.
    for (int k = 8; k < 20; ++k) {
        const VkDeviceSize lo = VkDeviceSize{1} << k;
        const VkDeviceSize hi = VkDeviceSize{1} << (k + 1);
        std::uint32_t count = 0;
        for (VkDeviceSize s : sizes) {
            if (s >= lo && (s < hi || (k == 19 && s == hi))) ++count;
        }
        std::printf("mix %-13s %6u %5.1f%%\n", (FormatBytes(lo) + "-" + FormatBytes(hi)).c_str(), count,
                    100.0 * count / static_cast<double>(sizes.size()));
    }
    VkDeviceSize total = 0;
    for (VkDeviceSize s : sizes) total += s;
    std::printf("mix_total count %zu bytes %llu mean_bytes %llu\n", sizes.size(),
                static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(sizes.empty() ? 0 : total / sizes.size()));
}

std::string FlagsString(VkMemoryPropertyFlags f) {
    static const struct {
        VkMemoryPropertyFlags bit;
        const char* name;
    } kNames[] = {{VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "DEVICE_LOCAL"},
                  {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, "HOST_VISIBLE"},
                  {VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, "HOST_COHERENT"},
                  {VK_MEMORY_PROPERTY_HOST_CACHED_BIT, "HOST_CACHED"},
                  {VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT, "LAZILY_ALLOCATED"},
                  {VK_MEMORY_PROPERTY_PROTECTED_BIT, "PROTECTED"}};
    std::string s;
    for (const auto& n : kNames) {
        if (f & n.bit) s += (s.empty() ? "" : "|") + std::string(n.name);
    }
    return s.empty() ? "0" : s;
}

std::string VersionString(std::uint32_t v) {
    return std::to_string(v >> 22) + "." + std::to_string((v >> 12) & 0x3ff) + "." + std::to_string(v & 0xfff);
}

std::string DriverVersionString(std::uint32_t vendorId, std::uint32_t v) {
    if (vendorId == 0x10DE) {  // NVIDIA: 10.8.8.6 bits
        return std::to_string(v >> 22) + "." + std::to_string((v >> 14) & 0xff) + "." +
               std::to_string((v >> 6) & 0xff) + "." + std::to_string(v & 0x3f);
    }
    return VersionString(v);  // Mesa and most others use VK_MAKE_API_VERSION's layout
}

const char* DeviceTypeName(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated_gpu";
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete_gpu";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual_gpu";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
        default: return "other";
    }
}

using Clock = std::chrono::steady_clock;
double MicrosSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double Median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// ---------------------------------------------------------------------------------------------

struct Device {
    bool layerRequested = false;
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physicalDevice = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties props{};
    VkPhysicalDeviceMemoryProperties memory{};
    std::string driverName;
    std::string driverInfo;
    std::string allocateLibrary;  // the shared object that vkAllocateMemory dispatches into
    bool dladdrKnown = false;

    // Device-level entry points straight from vkGetDeviceProcAddr (no loader trampoline), the
    // same way in both configurations.
    PFN_vkAllocateMemory allocate = nullptr;
    PFN_vkFreeMemory free = nullptr;
    PFN_vkMapMemory map = nullptr;
    PFN_vkUnmapMemory unmap = nullptr;
    PFN_vkFlushMappedMemoryRanges flush = nullptr;
    PFN_vkBindBufferMemory bindBuffer = nullptr;
    PFN_vkCreateBuffer createBuffer = nullptr;
    PFN_vkDestroyBuffer destroyBuffer = nullptr;
    PFN_vkGetBufferMemoryRequirements bufferRequirements = nullptr;

    void Destroy() {
        if (device) vkDestroyDevice(device, nullptr);
        if (instance) vkDestroyInstance(instance, nullptr);
        device = VK_NULL_HANDLE;
        instance = VK_NULL_HANDLE;
    }
};

bool InstanceLayerListed() {
    std::uint32_t n = 0;
    VK_CHECK(vkEnumerateInstanceLayerProperties(&n, nullptr));
    std::vector<VkLayerProperties> layers(n);
    VK_CHECK(vkEnumerateInstanceLayerProperties(&n, layers.data()));
    for (std::uint32_t i = 0; i < n; ++i) {
        if (std::strcmp(layers[i].layerName, kLayerName) == 0) return true;
    }
    return false;
}

template <typename T>
void Load(Device& d, T& fn, const char* name) {
    fn = reinterpret_cast<T>(vkGetDeviceProcAddr(d.device, name));
    if (!fn) Die(std::string("vkGetDeviceProcAddr(") + name + ") returned null");
}

Device CreateDevice(bool withLayer, const Options& opt) {
    Device d;
    d.layerRequested = withLayer;
    if (withLayer && !InstanceLayerListed()) {
        const char* path = std::getenv("VK_LAYER_PATH");
        Die(std::string(kLayerName) + " is not listed by vkEnumerateInstanceLayerProperties (VK_LAYER_PATH=" +
            (path ? path : "<unset>") + "; use --layer-path <build dir>)");
    }
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "vma_layer_bench";
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ici{};
    ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ici.pApplicationInfo = &app;
    const char* layers[] = {kLayerName};
    if (withLayer) {
        ici.enabledLayerCount = 1;
        ici.ppEnabledLayerNames = layers;
    }
    VK_CHECK(vkCreateInstance(&ici, nullptr, &d.instance));

    std::uint32_t n = 0;
    VK_CHECK(vkEnumeratePhysicalDevices(d.instance, &n, nullptr));
    if (opt.deviceIndex >= n) {
        Die("no physical device " + std::to_string(opt.deviceIndex) + " (" + std::to_string(n) + " found)");
    }
    std::vector<VkPhysicalDevice> devices(n);
    VK_CHECK(vkEnumeratePhysicalDevices(d.instance, &n, devices.data()));
    d.physicalDevice = devices[opt.deviceIndex];
    vkGetPhysicalDeviceProperties(d.physicalDevice, &d.props);
    vkGetPhysicalDeviceMemoryProperties(d.physicalDevice, &d.memory);
    if (d.props.apiVersion >= VK_API_VERSION_1_2) {
        VkPhysicalDeviceDriverProperties driver{};
        driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
        VkPhysicalDeviceProperties2 props2{};
        props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        props2.pNext = &driver;
        vkGetPhysicalDeviceProperties2(d.physicalDevice, &props2);
        d.driverName = driver.driverName;
        d.driverInfo = driver.driverInfo;
    }

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{};
    qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qci.queueFamilyIndex = 0;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkDeviceCreateInfo dci{};
    dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    VK_CHECK(vkCreateDevice(d.physicalDevice, &dci, nullptr, &d.device));

    Load(d, d.allocate, "vkAllocateMemory");
    Load(d, d.free, "vkFreeMemory");
    Load(d, d.map, "vkMapMemory");
    Load(d, d.unmap, "vkUnmapMemory");
    Load(d, d.flush, "vkFlushMappedMemoryRanges");
    Load(d, d.bindBuffer, "vkBindBufferMemory");
    Load(d, d.createBuffer, "vkCreateBuffer");
    Load(d, d.destroyBuffer, "vkDestroyBuffer");
    Load(d, d.bufferRequirements, "vkGetBufferMemoryRequirements");

    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(d.allocate), &info) != 0 && info.dli_fname) {
        d.allocateLibrary = info.dli_fname;
        d.dladdrKnown = true;
    } else {
        d.allocateLibrary = "unknown";
    }
    return d;
}

// ---------------------------------------------------------------------------------------------

enum Phase { kAlloc, kFree, kRoundTrip, kMapUnmap, kFlush, kBind, kPhaseCount };
constexpr const char* kPhaseNames[kPhaseCount] = {"alloc", "free", "roundtrip", "map_unmap", "flush", "bind"};
constexpr bool kPhaseAddedNs[kPhaseCount] = {false, false, false, true, true, true};

struct MemClass {
    const char* name;
    bool hostVisible;
};
constexpr MemClass kClasses[] = {{"device_local", false}, {"host_visible", true}};
constexpr int kClassCount = 2;

int FindType(const VkPhysicalDeviceMemoryProperties& m, const MemClass& c) {
    for (std::uint32_t i = 0; i < m.memoryTypeCount; ++i) {
        const VkMemoryPropertyFlags f = m.memoryTypes[i].propertyFlags;
        if (f & VK_MEMORY_PROPERTY_PROTECTED_BIT) continue;
        if (c.hostVisible) {
            const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
            if ((f & want) == want) return static_cast<int>(i);
        } else {
            if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
                return static_cast<int>(i);
            }
        }
    }
    return -1;
}

struct ClassResult {
    bool present = false;
    std::uint32_t count = 0;
    double usPerOp[kPhaseCount];
    ClassResult() {
        for (double& v : usPerOp) v = NAN;
    }
};

struct Probe {
    double allocUs;
    double freeUs;
};

// Mean cost of vkAllocateMemory / vkFreeMemory over the first few sizes of the mix.
Probe ProbeDriver(Device& d, std::uint32_t type, const std::vector<VkDeviceSize>& sizes) {
    const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(32, sizes.size()));
    std::vector<VkDeviceMemory> mem(n);
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.memoryTypeIndex = type;
    auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < n; ++i) {
        ai.allocationSize = sizes[i];
        VK_CHECK(d.allocate(d.device, &ai, nullptr, &mem[i]));
    }
    const double allocUs = MicrosSince(t0) / n;
    t0 = Clock::now();
    for (std::uint32_t i = 0; i < n; ++i) d.free(d.device, mem[i], nullptr);
    return {allocUs, MicrosSince(t0) / n};
}

ClassResult RunClass(Device& d, int classIndex, std::uint32_t type, const std::vector<VkDeviceSize>& sizes,
                     std::uint32_t n, std::uint32_t reps) {
    const MemClass& c = kClasses[classIndex];
    ClassResult result;
    result.present = true;
    result.count = n;
    std::vector<double> samples[kPhaseCount];
    std::vector<VkDeviceMemory> mem(n, VK_NULL_HANDLE);
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.memoryTypeIndex = type;
    auto allocate = [&](VkDeviceSize size, VkDeviceMemory* out) {
        ai.allocationSize = size;
        VK_CHECK(d.allocate(d.device, &ai, nullptr, out));
    };
    const VkDeviceSize atom = std::max<VkDeviceSize>(1, d.props.limits.nonCoherentAtomSize);
    const VkDeviceSize flushSize = (kFlushSize + atom - 1) / atom * atom;

    for (std::uint32_t rep = 0; rep < reps; ++rep) {
        // Same seeds in both configurations: identical free orders and victims.
        Rng rng(kSeed ^ (0x100000001B3ull * (rep + 1)) ^ (static_cast<std::uint64_t>(classIndex) << 56));

        // alloc: every object.
        auto t0 = Clock::now();
        for (std::uint32_t i = 0; i < n; ++i) allocate(sizes[i], &mem[i]);
        samples[kAlloc].push_back(MicrosSince(t0) / n);

        // free: every object, random order.
        const std::vector<std::uint32_t> order = Permutation(n, rng);
        t0 = Clock::now();
        for (std::uint32_t k = 0; k < n; ++k) d.free(d.device, mem[order[k]], nullptr);
        samples[kFree].push_back(MicrosSince(t0) / n);

        // roundtrip: half the objects live; n times free a random live one and allocate the next size.
        const std::uint32_t live = std::max<std::uint32_t>(1, n / 2);
        for (std::uint32_t i = 0; i < live; ++i) allocate(sizes[i], &mem[i]);
        std::vector<std::uint32_t> victims(n);
        for (auto& v : victims) v = rng.Below(live);
        t0 = Clock::now();
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint32_t j = victims[k];
            d.free(d.device, mem[j], nullptr);
            allocate(sizes[(live + k) % n], &mem[j]);
        }
        samples[kRoundTrip].push_back(MicrosSince(t0) / n);
        for (std::uint32_t i = 0; i < live; ++i) d.free(d.device, mem[i], nullptr);

        if (c.hostVisible) {
            for (std::uint32_t i = 0; i < n; ++i) allocate(sizes[i], &mem[i]);
            // map_unmap: whole allocation, one object at a time.
            t0 = Clock::now();
            for (std::uint32_t i = 0; i < n; ++i) {
                void* p = nullptr;
                VK_CHECK(d.map(d.device, mem[i], 0, VK_WHOLE_SIZE, 0, &p));
                d.unmap(d.device, mem[i]);
            }
            samples[kMapUnmap].push_back(MicrosSince(t0) / n);

            // flush: everything mapped (not timed), one 256 B range per object.
            std::vector<VkMappedMemoryRange> ranges(n);
            for (std::uint32_t i = 0; i < n; ++i) {
                void* p = nullptr;
                VK_CHECK(d.map(d.device, mem[i], 0, VK_WHOLE_SIZE, 0, &p));
                ranges[i] = {};
                ranges[i].sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
                ranges[i].memory = mem[i];
                ranges[i].offset = 0;
                ranges[i].size = flushSize <= sizes[i] ? flushSize : VK_WHOLE_SIZE;
            }
            t0 = Clock::now();
            for (std::uint32_t i = 0; i < n; ++i) VK_CHECK(d.flush(d.device, 1, &ranges[i]));
            samples[kFlush].push_back(MicrosSince(t0) / n);
            for (std::uint32_t i = 0; i < n; ++i) d.unmap(d.device, mem[i]);
            for (std::uint32_t i = 0; i < n; ++i) d.free(d.device, mem[i], nullptr);
        }

        // bind: n fresh 256 B storage buffers, each to its own allocation (only the bind is timed).
        std::fill(mem.begin(), mem.end(), VK_NULL_HANDLE);
        std::vector<VkBuffer> buffers(n, VK_NULL_HANDLE);
        VkBufferCreateInfo bci{};
        bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
        bci.size = kBindBufferSize;
        bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
        bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
        for (auto& b : buffers) VK_CHECK(d.createBuffer(d.device, &bci, nullptr, &b));
        bool bindable = true;
        for (std::uint32_t i = 0; i < n; ++i) {
            VkMemoryRequirements req{};
            d.bufferRequirements(d.device, buffers[i], &req);
            if (!(req.memoryTypeBits & (1u << type))) {
                bindable = false;
                break;
            }
            allocate(req.size, &mem[i]);
        }
        if (bindable) {
            t0 = Clock::now();
            for (std::uint32_t i = 0; i < n; ++i) VK_CHECK(d.bindBuffer(d.device, buffers[i], mem[i], 0));
            samples[kBind].push_back(MicrosSince(t0) / n);
        } else if (rep == 0) {
            std::printf("note bind_skipped class=%s memory_type %u not in the buffer's memoryTypeBits\n", c.name, type);
        }
        for (auto b : buffers) d.destroyBuffer(d.device, b, nullptr);
        for (auto& m : mem) {
            if (m != VK_NULL_HANDLE) d.free(d.device, m, nullptr);
            m = VK_NULL_HANDLE;
        }
    }
    for (int p = 0; p < kPhaseCount; ++p) result.usPerOp[p] = Median(samples[p]);
    return result;
}

// ---------------------------------------------------------------------------------------------

void Usage() {
    std::printf(
        "usage: vma_layer_bench [--count N] [--reps R] [--layer-path DIR] [--device I] [--check]\n"
        "                       [--slow-alloc-us US] [--driver-budget-s S] [--no-fallback]\n"
        "  --count N            objects per phase (default 10000)\n"
        "  --reps R             repetitions of each phase, the median is reported (default 5)\n"
        "  --layer-path DIR     setenv VK_LAYER_PATH=DIR before the first Vulkan call\n"
        "  --device I           physical device index (default 0)\n"
        "  --check              tiny run for ctest (count 200, reps 1); exit 1 on any failure\n"
        "  --slow-alloc-us US   driver allocate slower than this: fewer driver objects (default 50)\n"
        "  --driver-budget-s S  time aimed at per memory class in that case (default 8)\n"
        "  --no-fallback        always run --count objects in the driver configuration\n"
        "  --usage-count N      memory actually used for N x 4 KiB objects, from VK_EXT_memory_budget\n"
        "                       heapUsage (default 10000; 0 skips it)\n");
}

bool ParseArgs(int argc, char** argv, Options& opt) {
    bool countSet = false;
    bool repsSet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        auto number = [&](double lo) {
            const char* v = value();
            char* end = nullptr;
            const double x = std::strtod(v, &end);
            if (end == v || *end != '\0' || !(x >= lo)) {
                std::fprintf(stderr, "error: bad value for %s: %s\n", a.c_str(), v);
                std::exit(2);
            }
            return x;
        };
        if (a == "--count") {
            opt.count = static_cast<std::uint32_t>(number(1));
            countSet = true;
        } else if (a == "--reps") {
            opt.reps = static_cast<std::uint32_t>(number(1));
            repsSet = true;
        } else if (a == "--layer-path") {
            opt.layerPath = value();
        } else if (a == "--device") {
            opt.deviceIndex = static_cast<std::uint32_t>(number(0));
        } else if (a == "--check") {
            opt.check = true;
        } else if (a == "--slow-alloc-us") {
            opt.slowAllocUs = number(0);
        } else if (a == "--driver-budget-s") {
            opt.driverBudgetS = number(0);
        } else if (a == "--no-fallback") {
            opt.fallback = false;
        } else if (a == "--usage-count") {
            opt.usageCount = static_cast<std::uint32_t>(number(0));
        } else if (a == "--help" || a == "-h") {
            Usage();
            std::exit(0);
        } else {
            std::fprintf(stderr, "error: unknown argument %s\n", a.c_str());
            Usage();
            return false;
        }
    }
    if (opt.check) {
        if (!countSet) opt.count = 200;
        if (!repsSet) opt.reps = 1;
    }
    return true;
}

std::string Fixed(double v, int decimals) {
    if (std::isnan(v)) return "-";
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace

// Memory the driver really uses for `count` 4 KiB objects of memory type `type`: heapUsage from
// VK_EXT_memory_budget before and after (objects held live in between). Returns false where the
// device lacks the extension.
bool MeasureUsage(Device& d, std::uint32_t type, std::uint32_t count, VkDeviceSize* usedBytes) {
    std::uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(d.physicalDevice, nullptr, &n, nullptr);
    std::vector<VkExtensionProperties> exts(n);
    vkEnumerateDeviceExtensionProperties(d.physicalDevice, nullptr, &n, exts.data());
    bool budget = false;
    for (const auto& e : exts) budget |= std::strcmp(e.extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0;
    if (!budget) return false;
    const std::uint32_t heap = d.memory.memoryTypes[type].heapIndex;
    auto heapUsage = [&]() {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT b{};
        b.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
        VkPhysicalDeviceMemoryProperties2 p{};
        p.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
        p.pNext = &b;
        vkGetPhysicalDeviceMemoryProperties2(d.physicalDevice, &p);
        return b.heapUsage[heap];
    };
    const VkDeviceSize before = heapUsage();
    std::vector<VkDeviceMemory> objects(count);
    for (auto& m : objects) {
        VkMemoryAllocateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
        info.allocationSize = 4096;
        info.memoryTypeIndex = type;
        VK_CHECK(d.allocate(d.device, &info, nullptr, &m));
    }
    const VkDeviceSize after = heapUsage();
    for (auto m : objects) d.free(d.device, m, nullptr);
    *usedBytes = after > before ? after - before : 0;
    return true;
}

int main(int argc, char** argv) {
    Options opt;
    if (!ParseArgs(argc, argv, opt)) return 2;
    if (!opt.layerPath.empty()) setenv("VK_LAYER_PATH", opt.layerPath.c_str(), 1);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const auto start = Clock::now();

    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    std::printf("bench vma_layer_bench\n");
    std::printf("date %s\n", date);
    std::printf("settings count %u reps %u seed 0x%016llx check %d slow_alloc_us %.0f driver_budget_s %.1f fallback %d\n",
                opt.count, opt.reps, static_cast<unsigned long long>(kSeed), opt.check ? 1 : 0, opt.slowAllocUs,
                opt.driverBudgetS, opt.fallback ? 1 : 0);
    const char* layerPath = std::getenv("VK_LAYER_PATH");
    std::printf("layer_path %s\n", layerPath ? layerPath : "<unset>");

    const std::vector<VkDeviceSize> sizes = MakeSizes(opt.count);
    bool ok = true;
    ClassResult results[2][kClassCount];  // [config][class]
    int types[2][kClassCount];
    std::string deviceName;
    void* driverAllocate = nullptr;  // vkAllocateMemory of the driver configuration

    for (int config = 0; config < 2; ++config) {
        const bool withLayer = config == 1;
        const char* configName = withLayer ? "layer" : "driver";
        Device d = CreateDevice(withLayer, opt);
        if (config == 0) {
            deviceName = d.props.deviceName;
            std::printf("device_name %s\n", d.props.deviceName);
            std::printf("device_type %s vendor_id 0x%04x device_id 0x%04x\n", DeviceTypeName(d.props.deviceType),
                        d.props.vendorID, d.props.deviceID);
            std::printf("driver_version %s raw 0x%08x\n", DriverVersionString(d.props.vendorID, d.props.driverVersion).c_str(),
                        d.props.driverVersion);
            std::printf("driver_name %s\n", d.driverName.empty() ? "-" : d.driverName.c_str());
            std::printf("driver_info %s\n", d.driverInfo.empty() ? "-" : d.driverInfo.c_str());
            std::printf("api_version %s\n", VersionString(d.props.apiVersion).c_str());
            std::printf("limits maxMemoryAllocationCount %u nonCoherentAtomSize %llu bufferImageGranularity %llu\n",
                        d.props.limits.maxMemoryAllocationCount,
                        static_cast<unsigned long long>(d.props.limits.nonCoherentAtomSize),
                        static_cast<unsigned long long>(d.props.limits.bufferImageGranularity));
            PrintMix(sizes);
        } else if (deviceName != d.props.deviceName) {
            Die("the layer configuration sees device '" + std::string(d.props.deviceName) + "', not '" + deviceName + "'");
        }

        // Is the layer really in the vkAllocateMemory call chain (and only where asked for)?
        bool active;
        if (d.dladdrKnown) {
            active = d.allocateLibrary.find("VkLayer_vma") != std::string::npos;
        } else {
            active = withLayer && reinterpret_cast<void*>(d.allocate) != driverAllocate;
        }
        if (!withLayer) driverAllocate = reinterpret_cast<void*>(d.allocate);
        std::printf("config %s vkAllocateMemory_from %s layer_active %d\n", configName, d.allocateLibrary.c_str(),
                    active ? 1 : 0);
        if (active != withLayer) {
            std::printf("error config %s: %s\n", configName,
                        withLayer ? "the layer is not in the vkAllocateMemory chain"
                                  : "the layer is active without being enabled (implicit layer or VK_INSTANCE_LAYERS?)");
            std::fprintf(stderr, "error: layer_active %d in the %s configuration\n", active ? 1 : 0, configName);
            ok = false;
            d.Destroy();
            break;
        }

        for (int ci = 0; ci < kClassCount; ++ci) {
            const MemClass& c = kClasses[ci];
            types[config][ci] = FindType(d.memory, c);
            if (types[config][ci] < 0) {
                if (config == 0) std::printf("class %s absent\n", c.name);
                continue;
            }
            const std::uint32_t type = static_cast<std::uint32_t>(types[config][ci]);
            const std::uint32_t heap = d.memory.memoryTypes[type].heapIndex;
            if (config == 0) {
                std::printf("class %s memory_type %u heap %u heap_mib %llu flags %s\n", c.name, type, heap,
                            static_cast<unsigned long long>(d.memory.memoryHeaps[heap].size >> 20),
                            FlagsString(d.memory.memoryTypes[type].propertyFlags).c_str());
            } else if (types[1][ci] != types[0][ci]) {
                std::printf("note class=%s memory_type %d in the layer configuration, %d in the driver one\n", c.name,
                            types[1][ci], types[0][ci]);
            }

            // First, on a device that has no memory yet, so blocks kept from the timed phases
            // do not hide what these objects cost.
            VkDeviceSize used = 0;
            if (opt.usageCount && !opt.check && MeasureUsage(d, type, opt.usageCount, &used)) {
                const double asked = 4096.0 * opt.usageCount;
                std::printf("usage class=%s config=%s objects %u x 4096 B asked %.1f MiB heapUsage +%.1f MiB ratio %.2f\n",
                            c.name, configName, opt.usageCount, asked / 1048576.0, used / 1048576.0, used / asked);
            }
            std::uint32_t n = opt.count;
            const std::uint32_t limit = d.props.limits.maxMemoryAllocationCount;
            if (limit > 64 && n > limit - 64) {
                std::printf("note allocation_limit class=%s config=%s count %u -> %u (maxMemoryAllocationCount %u)\n",
                            c.name, configName, n, limit - 64, limit);
                n = limit - 64;
            }
            // All n objects are live at once in alloc/map/flush: stay within half the heap.
            VkDeviceSize live = 0;
            std::uint32_t fit = 0;
            while (fit < n && live + sizes[fit] <= d.memory.memoryHeaps[heap].size / 2) live += sizes[fit++];
            if (fit < n) {
                std::printf("note heap_size class=%s config=%s count %u -> %u (half of heap %u)\n", c.name, configName,
                            n, fit, heap);
                n = fit;
            }
            if (!withLayer) {
                const Probe probe = ProbeDriver(d, type, sizes);
                std::printf("probe class=%s config=driver alloc_us %.2f free_us %.2f\n", c.name, probe.allocUs,
                            probe.freeUs);
                if (opt.fallback && probe.allocUs > opt.slowAllocUs) {
                    // Per object and rep: ~1 alloc+free in alloc/free, 1.5 in roundtrip, 1 in
                    // bind, 1 more in map/flush for host-visible memory.
                    const double perObjectUs = (probe.allocUs + probe.freeUs) * (c.hostVisible ? 4.5 : 3.5) * opt.reps;
                    const double budgetN = opt.driverBudgetS * 1e6 / perObjectUs;
                    std::uint32_t reduced = static_cast<std::uint32_t>(std::clamp(budgetN, 50.0, static_cast<double>(n)));
                    reduced = std::max<std::uint32_t>(std::min<std::uint32_t>(n, 50), reduced / 10 * 10);
                    if (reduced < n) {
                        std::printf("note driver_slow class=%s one driver allocate %.1f us > %.0f us: driver count %u -> %u "
                                    "(first %u objects of the same mix; the layer configuration keeps %u)\n",
                                    c.name, probe.allocUs, opt.slowAllocUs, n, reduced, reduced, n);
                        n = reduced;
                    }
                }
            }
            const auto t0 = Clock::now();
            results[config][ci] = RunClass(d, ci, type, sizes, n, opt.reps);
            std::printf("ran class=%s config=%s count %u reps %u seconds %.2f\n", c.name, configName, n, opt.reps,
                        MicrosSince(t0) / 1e6);

        }
        d.Destroy();
    }

    if (ok) {
        std::printf("columns class phase n_driver n_layer driver_us_per_op layer_us_per_op ratio_driver_over_layer "
                    "added_ns_per_op\n");
        std::vector<double> roundTrips;
        std::vector<std::pair<std::string, double>> roundTripLines;
        for (int ci = 0; ci < kClassCount; ++ci) {
            const ClassResult& dr = results[0][ci];
            const ClassResult& lr = results[1][ci];
            if (!dr.present || !lr.present) continue;
            for (int p = 0; p < kPhaseCount; ++p) {
                const double du = dr.usPerOp[p];
                const double lu = lr.usPerOp[p];
                if (std::isnan(du) && std::isnan(lu)) continue;
                const double ratio = (std::isnan(du) || std::isnan(lu) || lu <= 0) ? NAN : du / lu;
                const double added = kPhaseAddedNs[p] ? (lu - du) * 1000.0 : NAN;
                std::printf("result %-12s %-9s %6u %6u %12s %12s %9s %9s\n", kClasses[ci].name, kPhaseNames[p], dr.count,
                            lr.count, Fixed(du, 3).c_str(), Fixed(lu, 3).c_str(), Fixed(ratio, 2).c_str(),
                            kPhaseAddedNs[p] ? Fixed(added, 1).c_str() : "-");
                if (p == kRoundTrip && !std::isnan(ratio)) {
                    roundTrips.push_back(ratio);
                    roundTripLines.emplace_back(kClasses[ci].name, ratio);
                }
            }
        }
        for (const auto& [name, ratio] : roundTripLines) std::printf("round_trip_ratio.%s %.2f\n", name.c_str(), ratio);
        if (roundTrips.empty()) {
            std::printf("error no memory class measured in both configurations\n");
            ok = false;
        } else {
            double logSum = 0;
            for (double r : roundTrips) logSum += std::log(r);
            std::printf("elapsed_s %.1f\n", MicrosSince(start) / 1e6);
            if (opt.check) std::printf("check PASS\n");
            std::printf("round_trip_ratio %.2f\n", std::exp(logSum / static_cast<double>(roundTrips.size())));
        }
    }
    if (!ok) {
        std::printf("elapsed_s %.1f\n", MicrosSince(start) / 1e6);
        std::printf(opt.check ? "check FAIL\n" : "status FAIL\n");
        return 1;
    }
    return 0;
}
