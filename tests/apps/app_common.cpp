// Shared helper for the test application programs; see app_common.h.
#include "app_common.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "transform.comp.h"  // generated at build time by glslangValidator

namespace vkapp {

namespace {

bool g_quiet = false;
std::atomic<uint32_t> g_validation_messages{0};

const char* SeverityName(VkDebugUtilsMessageSeverityFlagBitsEXT severity) {
  switch (severity) {
    case VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT: return "ERROR";
    case VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT: return "WARNING";
    case VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT: return "INFO";
    default: return "VERBOSE";
  }
}

VKAPI_ATTR VkBool32 VKAPI_CALL DebugCallback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                             VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                             const VkDebugUtilsMessengerCallbackDataEXT* data,
                                             void* /*user*/) {
  if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
    // The loader reports its environment-variable decisions ("forced disabled because ...",
    // "env var 'VK_INSTANCE_LAYERS' defined ...") as warnings; only its errors count.
    const bool loader = data && data->pMessageIdName && std::strcmp(data->pMessageIdName, "Loader Message") == 0;
    if (loader && !(severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
      if (!g_quiet) std::fprintf(stderr, "[debug-utils loader note] %s\n", data->pMessage ? data->pMessage : "");
      return VK_FALSE;
    }
    g_validation_messages.fetch_add(1);
    std::fprintf(stderr, "[debug-utils %s] %s: %s\n", SeverityName(severity),
                 data && data->pMessageIdName ? data->pMessageIdName : "(no id)",
                 data && data->pMessage ? data->pMessage : "(no message)");
    std::fflush(stderr);
  }
  return VK_FALSE;  // never abort the call
}

VkDebugUtilsMessengerCreateInfoEXT MessengerInfo() {
  VkDebugUtilsMessengerCreateInfoEXT info{};
  info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  info.messageSeverity =
      VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = DebugCallback;
  return info;
}

bool FailOnValidation() {
  const char* env = std::getenv("VMA_APP_FAIL_ON_VALIDATION");
  return !(env && std::strcmp(env, "0") == 0);
}

}  // namespace

// ---- errors -------------------------------------------------------------------------------

const char* ResultName(VkResult result) {
  switch (result) {
#define CASE(x) \
  case x: return #x;
    CASE(VK_SUCCESS)
    CASE(VK_NOT_READY)
    CASE(VK_TIMEOUT)
    CASE(VK_EVENT_SET)
    CASE(VK_EVENT_RESET)
    CASE(VK_INCOMPLETE)
    CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CASE(VK_ERROR_INITIALIZATION_FAILED)
    CASE(VK_ERROR_DEVICE_LOST)
    CASE(VK_ERROR_MEMORY_MAP_FAILED)
    CASE(VK_ERROR_LAYER_NOT_PRESENT)
    CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    CASE(VK_ERROR_TOO_MANY_OBJECTS)
    CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    CASE(VK_ERROR_FRAGMENTED_POOL)
    CASE(VK_ERROR_UNKNOWN)
    CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    CASE(VK_ERROR_FRAGMENTATION)
    CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
#undef CASE
    default: return "VK_ERROR_(unlisted)";
  }
}

void ThrowVulkan(VkResult result, const char* what, const char* file, int line) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf), "%s returned %s (%d) at %s:%d", what, ResultName(result), static_cast<int>(result),
                file, line);
  Fail(kExitVulkanError, buf);
}

// Failures are printed when raised: the unwinding that follows destroys Vulkan objects, and a
// broken implementation could crash there before RunApp gets to print the reason.
void Fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::fflush(stderr);
  throw Failure(code, message);
}
void Mismatch(const std::string& message) { Fail(kExitMismatch, "data mismatch: " + message); }

// ---- output ---------------------------------------------------------------------------------

void Info(const char* fmt, ...) {
  if (g_quiet) return;
  std::fputs("info ", stdout);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stdout, fmt, args);
  va_end(args);
  std::fputc('\n', stdout);
}

void PrintChecksum(const std::string& name, uint64_t value) {
  std::printf("checksum %s %016" PRIx64 "\n", name.c_str(), value);
}

uint64_t ParseUnsigned(const std::string& text, const char* what) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || !end || *end != '\0' || text[0] == '-')
    Fail(kExitUsage, std::string("bad value for ") + what + ": '" + text + "'");
  return v;
}

uint32_t ValidationMessageCount() { return g_validation_messages.load(); }

int RunApp(int argc, char** argv, const char* usage, const std::function<void(const Options&)>& body) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quiet" || arg == "-q") {
      options.quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      std::printf("%s\n", usage);
      return kExitOk;
    } else {
      options.args.push_back(arg);
    }
  }
  g_quiet = options.quiet;

  int code = kExitOk;
  std::string reason;
  try {
    body(options);
  } catch (const Failure& f) {
    code = f.code();
    reason = f.what();
    if (code == kExitUsage) std::fprintf(stderr, "%s\n", usage);
  } catch (const std::exception& e) {
    code = kExitException;
    reason = std::string("exception: ") + e.what();
    std::fprintf(stderr, "error: %s\n", reason.c_str());
  }
  const uint32_t messages = ValidationMessageCount();
  if (code == kExitOk && messages != 0 && FailOnValidation()) {
    code = kExitValidation;
    reason = std::to_string(messages) + " debug-utils warning/error message(s) were reported (see stderr)";
  } else if (messages != 0) {
    std::fprintf(stderr, "note: %u debug-utils warning/error message(s) were reported\n", messages);
  }
  if (code == kExitOk) {
    std::printf("RESULT OK\n");
  } else {
    std::printf("RESULT FAIL %s\n", reason.c_str());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  return code;
}

// ---- checksum and patterns ------------------------------------------------------------------

void Fnv1a64::Update(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t h = hash;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  hash = h;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t Rng::Next() {
  state_ += 0x9e3779b97f4a7c15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Rng::Range(uint64_t lo, uint64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t span = hi - lo + 1;
  if (span == 0) return Next();  // full 64-bit range
  return lo + Next() % span;     // bias is irrelevant here
}

static inline uint64_t PatternWord(uint64_t seed, uint64_t word_index) {
  return SplitMix64(seed * 0x2545f4914f6cdd1dull ^ word_index);
}

uint8_t PatternByte(uint64_t seed, uint64_t index) {
  return static_cast<uint8_t>(PatternWord(seed, index / 8) >> ((index % 8) * 8));
}

void FillPattern(void* dst, size_t size, uint64_t seed, uint64_t first_index) {
  uint8_t* p = static_cast<uint8_t*>(dst);
  size_t i = 0;
  while (i < size && ((first_index + i) % 8) != 0) {
    p[i] = PatternByte(seed, first_index + i);
    ++i;
  }
  for (; i + 8 <= size; i += 8) {
    uint64_t w = PatternWord(seed, (first_index + i) / 8);  // little-endian byte order, as PatternByte
    uint8_t bytes[8];
    for (int b = 0; b < 8; ++b) bytes[b] = static_cast<uint8_t>(w >> (b * 8));
    std::memcpy(p + i, bytes, 8);
  }
  for (; i < size; ++i) p[i] = PatternByte(seed, first_index + i);
}

size_t FindPatternMismatch(const void* src, size_t size, uint64_t seed, uint64_t first_index) {
  const uint8_t* p = static_cast<const uint8_t*>(src);
  size_t i = 0;
  while (i < size && ((first_index + i) % 8) != 0) {
    if (p[i] != PatternByte(seed, first_index + i)) return i;
    ++i;
  }
  for (; i + 8 <= size; i += 8) {
    uint64_t w = PatternWord(seed, (first_index + i) / 8);
    uint8_t bytes[8];
    for (int b = 0; b < 8; ++b) bytes[b] = static_cast<uint8_t>(w >> (b * 8));
    if (std::memcmp(p + i, bytes, 8) != 0) {
      for (int b = 0; b < 8; ++b)
        if (p[i + b] != bytes[b]) return i + b;
    }
  }
  for (; i < size; ++i)
    if (p[i] != PatternByte(seed, first_index + i)) return i;
  return size;
}

void VerifyPattern(const void* src, size_t size, uint64_t seed, const std::string& what, uint64_t first_index) {
  size_t bad = FindPatternMismatch(src, size, seed, first_index);
  if (bad != size) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), " (%zu bytes): first difference at byte %zu: got 0x%02x, expected 0x%02x", size,
                  bad, static_cast<const uint8_t*>(src)[bad], PatternByte(seed, first_index + bad));
    Mismatch(what + buf);
  }
}

void VerifyEqual(const void* actual, const void* expected, size_t size, const std::string& what) {
  if (std::memcmp(actual, expected, size) == 0) return;
  const uint8_t* a = static_cast<const uint8_t*>(actual);
  const uint8_t* e = static_cast<const uint8_t*>(expected);
  size_t i = 0;
  while (a[i] == e[i]) ++i;
  char buf[256];
  std::snprintf(buf, sizeof(buf), " (%zu bytes): first difference at byte %zu: got 0x%02x, expected 0x%02x", size, i,
                a[i], e[i]);
  Mismatch(what + buf);
}

double NowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// ---- context --------------------------------------------------------------------------------

Context::Context(const ContextOptions& options) {
  uint32_t loader_version = VK_API_VERSION_1_0;
  APP_CHECK(vkEnumerateInstanceVersion(&loader_version));
  if (loader_version < options.api_version) Fail(kExitUnsupported, "the Vulkan loader does not support Vulkan 1.1");

  bool have_debug_utils = false;
  {
    uint32_t count = 0;
    APP_CHECK(vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr));
    std::vector<VkExtensionProperties> exts(count);
    APP_CHECK(vkEnumerateInstanceExtensionProperties(nullptr, &count, exts.data()));
    for (const auto& e : exts)
      if (std::strcmp(e.extensionName, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) == 0) have_debug_utils = true;
  }
  if (!have_debug_utils) std::fprintf(stderr, "warning: VK_EXT_debug_utils unavailable, messages are not counted\n");

  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = options.app_name;
  app.applicationVersion = 1;
  app.pEngineName = "vma_app_common";
  app.engineVersion = 1;
  app.apiVersion = options.api_version;

  const char* extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  VkDebugUtilsMessengerCreateInfoEXT messenger_info = MessengerInfo();
  VkInstanceCreateInfo ici{};
  ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ici.pApplicationInfo = &app;
  if (have_debug_utils) {
    ici.pNext = &messenger_info;  // also reports problems in vkCreateInstance / vkDestroyInstance
    ici.enabledExtensionCount = 1;
    ici.ppEnabledExtensionNames = extensions;
  }
  APP_CHECK(vkCreateInstance(&ici, nullptr, &instance));

  if (have_debug_utils) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    destroy_messenger_ = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (!create || !destroy_messenger_) {
      vkDestroyInstance(instance, nullptr);
      instance = VK_NULL_HANDLE;
      Fail(kExitUnsupported, "vkCreateDebugUtilsMessengerEXT not available");
    }
    APP_CHECK(create(instance, &messenger_info, nullptr, &messenger_));
  }

  uint32_t count = 0;
  APP_CHECK(vkEnumeratePhysicalDevices(instance, &count, nullptr));
  if (count == 0) Fail(kExitUnsupported, "no Vulkan physical device");
  std::vector<VkPhysicalDevice> devices(count);
  VkResult r = vkEnumeratePhysicalDevices(instance, &count, devices.data());
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) APP_CHECK(r);
  physical_device = devices[0];
  vkGetPhysicalDeviceProperties(physical_device, &properties);
  vkGetPhysicalDeviceMemoryProperties(physical_device, &memory_properties);
  if (properties.apiVersion < VK_API_VERSION_1_1)
    Fail(kExitUnsupported, std::string("device ") + properties.deviceName + " does not support Vulkan 1.1");

  uint32_t qcount = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical_device, &qcount, nullptr);
  std::vector<VkQueueFamilyProperties> families(qcount);
  vkGetPhysicalDeviceQueueFamilyProperties(physical_device, &qcount, families.data());
  uint32_t chosen = UINT32_MAX;
  for (uint32_t i = 0; i < qcount && chosen == UINT32_MAX; ++i)
    if ((families[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) ==
        (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT))
      chosen = i;
  for (uint32_t i = 0; i < qcount && chosen == UINT32_MAX; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) chosen = i;
  if (chosen == UINT32_MAX) Fail(kExitUnsupported, "no queue family with compute support");
  queue_family = chosen;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{};
  qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qci.queueFamilyIndex = queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.pNext = options.device_next;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  APP_CHECK(vkCreateDevice(physical_device, &dci, nullptr, &device));
  vkGetDeviceQueue(device, queue_family, 0, &queue);

  VkCommandPoolCreateInfo pci{};
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pci.queueFamilyIndex = queue_family;
  APP_CHECK(vkCreateCommandPool(device, &pci, nullptr, &command_pool));

  Info("device %s (api %u.%u.%u), %u memory types, %u heaps", properties.deviceName,
       VK_API_VERSION_MAJOR(properties.apiVersion), VK_API_VERSION_MINOR(properties.apiVersion),
       VK_API_VERSION_PATCH(properties.apiVersion), memory_properties.memoryTypeCount,
       memory_properties.memoryHeapCount);
}

Context::~Context() {
  if (device) {
    vkDeviceWaitIdle(device);
    if (command_pool) vkDestroyCommandPool(device, command_pool, nullptr);
    vkDestroyDevice(device, nullptr);
  }
  if (instance) {
    if (messenger_) destroy_messenger_(instance, messenger_, nullptr);
    vkDestroyInstance(instance, nullptr);
  }
}

uint32_t Context::TryFindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags required,
                                    VkMemoryPropertyFlags preferred) const {
  uint32_t fallback = UINT32_MAX;
  for (uint32_t i = 0; i < memory_properties.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags flags = memory_properties.memoryTypes[i].propertyFlags;
    if ((flags & required) != required) continue;
    // Never pick exotic types by accident.
    if (flags & (VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT)) continue;
    if ((flags & preferred) == preferred) return i;
    if (fallback == UINT32_MAX) fallback = i;
  }
  return fallback;
}

uint32_t Context::FindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags required,
                                 VkMemoryPropertyFlags preferred) const {
  uint32_t t = TryFindMemoryType(type_bits, required, preferred);
  if (t == UINT32_MAX) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "no memory type in bits 0x%x with flags 0x%x", type_bits, required);
    Fail(kExitUnsupported, buf);
  }
  return t;
}

bool Context::IsHostCoherent(uint32_t memory_type) const {
  return memory_properties.memoryTypes[memory_type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
}
bool Context::IsHostVisible(uint32_t memory_type) const {
  return memory_properties.memoryTypes[memory_type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
}

std::vector<uint32_t> Context::HostVisibleTypes() const {
  std::vector<uint32_t> types;
  const VkMemoryPropertyFlags exotic = VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT |
                                       0x40 /*DEVICE_COHERENT_AMD*/ | 0x80 /*DEVICE_UNCACHED_AMD*/ |
                                       0x100 /*RDMA_CAPABLE_NV*/;
  for (uint32_t i = 0; i < memory_properties.memoryTypeCount; ++i) {
    const VkMemoryPropertyFlags flags = memory_properties.memoryTypes[i].propertyFlags;
    if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && !(flags & exotic)) types.push_back(i);
  }
  return types;
}

VkDeviceMemory Context::Allocate(VkDeviceSize size, uint32_t memory_type, const void* p_next) {
  VkMemoryAllocateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  info.pNext = p_next;
  info.allocationSize = size;
  info.memoryTypeIndex = memory_type;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  APP_CHECK(vkAllocateMemory(device, &info, nullptr, &memory));
  ++allocate_calls;
  allocate_bytes += size;
  return memory;
}

void Context::Free(VkDeviceMemory& memory) {
  if (memory) vkFreeMemory(device, memory, nullptr);
  memory = VK_NULL_HANDLE;
}

void Context::SubmitOneShot(const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBufferAllocateInfo cai{};
  cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  cai.commandPool = command_pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  APP_CHECK(vkAllocateCommandBuffers(device, &cai, &cmd));
  VkFence fence = VK_NULL_HANDLE;
  try {
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    APP_CHECK(vkBeginCommandBuffer(cmd, &begin));
    record(cmd);
    APP_CHECK(vkEndCommandBuffer(cmd));
    VkFenceCreateInfo fci{};
    fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    APP_CHECK(vkCreateFence(device, &fci, nullptr, &fence));
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    APP_CHECK(vkQueueSubmit(queue, 1, &submit, fence));
    APP_CHECK(vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX));
  } catch (...) {
    vkDeviceWaitIdle(device);
    if (fence) vkDestroyFence(device, fence, nullptr);
    vkFreeCommandBuffers(device, command_pool, 1, &cmd);
    throw;
  }
  vkDestroyFence(device, fence, nullptr);
  vkFreeCommandBuffers(device, command_pool, 1, &cmd);
}

void Context::FlushIfNeeded(VkDeviceMemory memory, uint32_t memory_type) const {
  if (IsHostCoherent(memory_type)) return;
  VkMappedMemoryRange range{};
  range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  range.memory = memory;
  range.offset = 0;
  range.size = VK_WHOLE_SIZE;
  APP_CHECK(vkFlushMappedMemoryRanges(device, 1, &range));
}

void Context::InvalidateIfNeeded(VkDeviceMemory memory, uint32_t memory_type) const {
  if (IsHostCoherent(memory_type)) return;
  VkMappedMemoryRange range{};
  range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  range.memory = memory;
  range.offset = 0;
  range.size = VK_WHOLE_SIZE;
  APP_CHECK(vkInvalidateMappedMemoryRanges(device, 1, &range));
}

// ---- buffers and images -------------------------------------------------------------------

Buffer CreateBuffer(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage, VkMemoryPropertyFlags required,
                    VkMemoryPropertyFlags preferred) {
  Buffer b;
  b.size = size;
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = size;
  bci.usage = usage;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  APP_CHECK(vkCreateBuffer(ctx.device, &bci, nullptr, &b.buffer));
  try {
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx.device, b.buffer, &req);
    b.memory_type = ctx.FindMemoryType(req.memoryTypeBits, required, preferred);
    b.alloc_size = req.size;
    b.memory = ctx.Allocate(req.size, b.memory_type);
    APP_CHECK(vkBindBufferMemory(ctx.device, b.buffer, b.memory, 0));
  } catch (...) {
    DestroyBuffer(ctx, b);
    throw;
  }
  return b;
}

void* MapBuffer(Context& ctx, Buffer& buffer) {
  if (!buffer.mapped) APP_CHECK(vkMapMemory(ctx.device, buffer.memory, 0, VK_WHOLE_SIZE, 0, &buffer.mapped));
  return buffer.mapped;
}

void UnmapBuffer(Context& ctx, Buffer& buffer) {
  if (buffer.mapped) vkUnmapMemory(ctx.device, buffer.memory);
  buffer.mapped = nullptr;
}

void DestroyBuffer(Context& ctx, Buffer& buffer) {
  if (buffer.buffer) vkDestroyBuffer(ctx.device, buffer.buffer, nullptr);
  ctx.Free(buffer.memory);  // implicitly unmaps
  buffer = Buffer{};
}

VkImage CreateImageHandle(Context& ctx, const ImageDesc& desc) {
  VkImageCreateInfo ici{};
  ici.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
  ici.imageType = VK_IMAGE_TYPE_2D;
  ici.format = desc.format;
  ici.extent = {desc.width, desc.height, 1};
  ici.mipLevels = desc.mip_levels;
  ici.arrayLayers = desc.array_layers;
  ici.samples = VK_SAMPLE_COUNT_1_BIT;
  ici.tiling = desc.tiling;
  ici.usage = desc.usage;
  ici.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  ici.initialLayout = desc.initial_layout;
  VkImage image = VK_NULL_HANDLE;
  APP_CHECK(vkCreateImage(ctx.device, &ici, nullptr, &image));
  return image;
}

Image CreateImage(Context& ctx, const ImageDesc& desc, VkMemoryPropertyFlags required,
                  VkMemoryPropertyFlags preferred) {
  Image img;
  img.format = desc.format;
  img.width = desc.width;
  img.height = desc.height;
  img.mip_levels = desc.mip_levels;
  img.array_layers = desc.array_layers;
  img.tiling = desc.tiling;
  img.image = CreateImageHandle(ctx, desc);
  try {
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(ctx.device, img.image, &req);
    img.memory_type = ctx.FindMemoryType(req.memoryTypeBits, required, preferred);
    img.alloc_size = req.size;
    img.memory = ctx.Allocate(req.size, img.memory_type);
    APP_CHECK(vkBindImageMemory(ctx.device, img.image, img.memory, 0));
  } catch (...) {
    DestroyImage(ctx, img);
    throw;
  }
  return img;
}

void DestroyImage(Context& ctx, Image& image) {
  if (image.image) vkDestroyImage(ctx.device, image.image, nullptr);
  ctx.Free(image.memory);
  image = Image{};
}

uint32_t FormatTexelSize(VkFormat format) {
  switch (format) {
    case VK_FORMAT_R8_UNORM:
    case VK_FORMAT_R8_UINT: return 1;
    case VK_FORMAT_R8G8_UNORM:
    case VK_FORMAT_R16_UINT:
    case VK_FORMAT_R16_UNORM:
    case VK_FORMAT_R5G6B5_UNORM_PACK16: return 2;
    case VK_FORMAT_R8G8B8A8_UNORM:
    case VK_FORMAT_B8G8R8A8_UNORM:
    case VK_FORMAT_R8G8B8A8_UINT:
    case VK_FORMAT_R16G16_UINT:
    case VK_FORMAT_R32_UINT:
    case VK_FORMAT_R32_SFLOAT:
    case VK_FORMAT_D32_SFLOAT: return 4;
    case VK_FORMAT_R16G16B16A16_UINT:
    case VK_FORMAT_R32G32_UINT: return 8;
    case VK_FORMAT_R32G32B32A32_UINT: return 16;
    default: Fail(kExitUnsupported, "FormatTexelSize: unexpected format " + std::to_string(format));
  }
}

bool FormatSupports(Context& ctx, VkFormat format, VkImageTiling tiling, VkFormatFeatureFlags features) {
  VkFormatProperties props;
  vkGetPhysicalDeviceFormatProperties(ctx.physical_device, format, &props);
  VkFormatFeatureFlags have =
      tiling == VK_IMAGE_TILING_LINEAR ? props.linearTilingFeatures : props.optimalTilingFeatures;
  return (have & features) == features;
}

void CmdImageBarrier(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, VkImageLayout old_layout,
                     VkImageLayout new_layout, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                     VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
  VkImageMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
  b.srcAccessMask = src_access;
  b.dstAccessMask = dst_access;
  b.oldLayout = old_layout;
  b.newLayout = new_layout;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = {aspect, 0, VK_REMAINING_MIP_LEVELS, 0, VK_REMAINING_ARRAY_LAYERS};
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, nullptr, 0, nullptr, 1, &b);
}

void CmdMemoryBarrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                      VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
  VkMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  b.srcAccessMask = src_access;
  b.dstAccessMask = dst_access;
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, nullptr, 0, nullptr);
}

// ---- transform pipeline ---------------------------------------------------------------------

TransformPipeline::TransformPipeline(Context& ctx, uint32_t max_sets) : ctx_(ctx) {
  try {
    VkShaderModuleCreateInfo smci{};
    smci.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    smci.codeSize = sizeof(kTransformCompSpirv);
    smci.pCode = kTransformCompSpirv;
    APP_CHECK(vkCreateShaderModule(ctx.device, &smci, nullptr, &module_));

    VkDescriptorSetLayoutBinding bindings[2]{};
    for (uint32_t i = 0; i < 2; ++i) {
      bindings[i].binding = i;
      bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      bindings[i].descriptorCount = 1;
      bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo dslci{};
    dslci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    dslci.bindingCount = 2;
    dslci.pBindings = bindings;
    APP_CHECK(vkCreateDescriptorSetLayout(ctx.device, &dslci, nullptr, &set_layout_));

    VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, 2 * sizeof(uint32_t)};
    VkPipelineLayoutCreateInfo plci{};
    plci.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    plci.setLayoutCount = 1;
    plci.pSetLayouts = &set_layout_;
    plci.pushConstantRangeCount = 1;
    plci.pPushConstantRanges = &push;
    APP_CHECK(vkCreatePipelineLayout(ctx.device, &plci, nullptr, &layout_));

    VkComputePipelineCreateInfo cpci{};
    cpci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    cpci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    cpci.stage.module = module_;
    cpci.stage.pName = "main";
    cpci.layout = layout_;
    APP_CHECK(vkCreateComputePipelines(ctx.device, VK_NULL_HANDLE, 1, &cpci, nullptr, &pipeline_));

    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2 * max_sets};
    VkDescriptorPoolCreateInfo dpci{};
    dpci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    dpci.maxSets = max_sets;
    dpci.poolSizeCount = 1;
    dpci.pPoolSizes = &size;
    APP_CHECK(vkCreateDescriptorPool(ctx.device, &dpci, nullptr, &pool_));
  } catch (...) {
    Destroy();
    throw;
  }
}

TransformPipeline::~TransformPipeline() { Destroy(); }

void TransformPipeline::Destroy() {
  VkDevice d = ctx_.device;
  if (pool_) vkDestroyDescriptorPool(d, pool_, nullptr);  // frees its sets
  if (pipeline_) vkDestroyPipeline(d, pipeline_, nullptr);
  if (layout_) vkDestroyPipelineLayout(d, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(d, set_layout_, nullptr);
  if (module_) vkDestroyShaderModule(d, module_, nullptr);
  pool_ = VK_NULL_HANDLE;
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  set_layout_ = VK_NULL_HANDLE;
  module_ = VK_NULL_HANDLE;
}

VkDescriptorSet TransformPipeline::AllocateSet(VkBuffer input, VkDeviceSize input_offset, VkDeviceSize input_range,
                                               VkBuffer output, VkDeviceSize output_offset,
                                               VkDeviceSize output_range) {
  VkDescriptorSetAllocateInfo dsai{};
  dsai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  dsai.descriptorPool = pool_;
  dsai.descriptorSetCount = 1;
  dsai.pSetLayouts = &set_layout_;
  VkDescriptorSet set = VK_NULL_HANDLE;
  APP_CHECK(vkAllocateDescriptorSets(ctx_.device, &dsai, &set));
  VkDescriptorBufferInfo infos[2] = {{input, input_offset, input_range}, {output, output_offset, output_range}};
  VkWriteDescriptorSet writes[2]{};
  for (uint32_t i = 0; i < 2; ++i) {
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(ctx_.device, 2, writes, 0, nullptr);
  return set;
}

void TransformPipeline::CmdDispatch(VkCommandBuffer cmd, VkDescriptorSet set, uint32_t count, uint32_t add) const {
  const uint32_t push[2] = {count, add};
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &set, 0, nullptr);
  vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(push), push);
  vkCmdDispatch(cmd, (count + 63) / 64, 1, 1);
}

}  // namespace vkapp
