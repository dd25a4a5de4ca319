// Shared helper for the test application programs in tests/apps/.
//
// These programs are ordinary Vulkan applications: they link only libvulkan (through the
// loader) and know nothing about any layer. The layer tests run them with and without
// VK_LAYER_VMA_suballocator and compare their deterministic output lines.
//
// Output convention for every app (the only lines meant for comparison):
//   checksum <name> <16 hex digits>     deterministic, identical with and without any layer
//   RESULT OK                           last line on success (exit code 0)
//   RESULT FAIL <reason>                last line on failure (exit code != 0)
// Everything else goes to stdout prefixed "info " (suppressed by --quiet) or to stderr.
//
// Exit codes (same for every app):
//   0  success
//   1  data mismatch (a read-back byte differs from what was written)
//   2  a Vulkan call returned an error
//   3  validation / debug-utils warnings or errors were reported (VMA_APP_FAIL_ON_VALIDATION,
//      default on; set VMA_APP_FAIL_ON_VALIDATION=0 to only print them)
//   4  bad command line
//   5  no usable device / missing feature (Vulkan 1.1, a queue with compute, a format)
//   6  unexpected exception
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vkapp {

enum ExitCode : int {
  kExitOk = 0,
  kExitMismatch = 1,
  kExitVulkanError = 2,
  kExitValidation = 3,
  kExitUsage = 4,
  kExitUnsupported = 5,
  kExitException = 6,
};

// Thrown by every helper on failure; caught by RunApp, which prints "RESULT FAIL".
class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

const char* ResultName(VkResult result);
[[noreturn]] void ThrowVulkan(VkResult result, const char* what, const char* file, int line);
[[noreturn]] void Fail(int code, const std::string& message);
[[noreturn]] void Mismatch(const std::string& message);

inline void Check(VkResult result, const char* what, const char* file, int line) {
  if (result != VK_SUCCESS) ThrowVulkan(result, what, file, line);
}
#define APP_CHECK(expr) ::vkapp::Check((expr), #expr, __FILE__, __LINE__)

// ---- command line and output --------------------------------------------------------------

struct Options {
  bool quiet = false;
  std::vector<std::string> args;  // everything that is not a common option
};

// Prints "info ..." unless --quiet was given.
void Info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Prints "checksum <name> <hex>" (always).
void PrintChecksum(const std::string& name, uint64_t value);
// Parses an unsigned number option value; throws Failure(kExitUsage) on bad input.
uint64_t ParseUnsigned(const std::string& text, const char* what);

// Runs body inside the common harness: parses --quiet/--help, catches Failure, checks the
// validation message counter after body returned (all Vulkan objects must be gone by then)
// and prints the RESULT line. usage is printed for --help and on kExitUsage.
int RunApp(int argc, char** argv, const char* usage, const std::function<void(const Options&)>& body);

// Number of warning+error messages seen by the debug-utils messengers so far.
uint32_t ValidationMessageCount();

// ---- checksum and deterministic data ------------------------------------------------------

struct Fnv1a64 {
  uint64_t hash = 0xcbf29ce484222325ull;
  void Update(const void* data, size_t size);
  void UpdateU64(uint64_t value) { Update(&value, sizeof(value)); }
  uint64_t value() const { return hash; }
};

uint64_t SplitMix64(uint64_t x);

// Small deterministic PRNG (same sequence on every platform, unlike std:: distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [lo, hi] (inclusive).
  uint64_t Range(uint64_t lo, uint64_t hi);
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Range(0, i - 1)]);
  }

 private:
  uint64_t state_;
};

// The pattern byte at absolute position `index` of the stream identified by `seed`.
// Any sub-range of a stream can be generated or checked on its own.
uint8_t PatternByte(uint64_t seed, uint64_t index);
void FillPattern(void* dst, size_t size, uint64_t seed, uint64_t first_index = 0);
// Returns size if every byte matches, else the offset of the first mismatching byte.
size_t FindPatternMismatch(const void* src, size_t size, uint64_t seed, uint64_t first_index = 0);
// Throws a Mismatch failure (with context) unless src holds the pattern.
void VerifyPattern(const void* src, size_t size, uint64_t seed, const std::string& what,
                   uint64_t first_index = 0);
// Compares two byte ranges; throws a Mismatch failure describing the first difference.
void VerifyEqual(const void* actual, const void* expected, size_t size, const std::string& what);

inline VkDeviceSize AlignUp(VkDeviceSize value, VkDeviceSize alignment) {
  return alignment ? (value + alignment - 1) / alignment * alignment : value;
}

// ---- Vulkan context -----------------------------------------------------------------------

struct ContextOptions {
  const char* app_name = "vma_app";
  uint32_t api_version = VK_API_VERSION_1_1;  // the apps use 1.1 core (bind2, requirements2)
  const void* device_next = nullptr;          // chained to VkDeviceCreateInfo (feature structs)
};

// Instance (+ debug-utils messenger when available), the first physical device, a device with
// one queue that supports compute (and graphics if such a family exists), a command pool.
class Context {
 public:
  explicit Context(const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkCommandPool command_pool = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory_properties{};

  // Memory type in type_bits with all `required` flags; among those, the first one that also
  // has all `preferred` flags, else the first that matches `required`. Throws if none.
  uint32_t FindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags required,
                          VkMemoryPropertyFlags preferred = 0) const;
  // Same, returns UINT32_MAX instead of throwing.
  uint32_t TryFindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags required,
                             VkMemoryPropertyFlags preferred = 0) const;
  bool IsHostCoherent(uint32_t memory_type) const;
  bool IsHostVisible(uint32_t memory_type) const;
  // Memory types that are plain host-visible (no protected / lazily allocated / AMD flags).
  std::vector<uint32_t> HostVisibleTypes() const;

  // vkAllocateMemory that also counts calls and requested bytes (for reports).
  VkDeviceMemory Allocate(VkDeviceSize size, uint32_t memory_type, const void* p_next = nullptr);
  void Free(VkDeviceMemory& memory);
  uint64_t allocate_calls = 0;
  uint64_t allocate_bytes = 0;

  // Records a command buffer with `record`, submits it, waits for completion, frees it.
  void SubmitOneShot(const std::function<void(VkCommandBuffer)>& record);

  // Flushes [offset, offset+size) of a mapped allocation if its type is not host-coherent,
  // widened to nonCoherentAtomSize (or to VK_WHOLE_SIZE). No-op on coherent memory.
  void FlushIfNeeded(VkDeviceMemory memory, uint32_t memory_type) const;
  void InvalidateIfNeeded(VkDeviceMemory memory, uint32_t memory_type) const;

 private:
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger_ = nullptr;
};

// A buffer with its own VkDeviceMemory (offset 0), the way most real programs do it.
struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;        // buffer size
  VkDeviceSize alloc_size = 0;  // allocation size (requirements size)
  uint32_t memory_type = 0;
  void* mapped = nullptr;  // set by Map()
};
Buffer CreateBuffer(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage,
                    VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred = 0);
void* MapBuffer(Context& ctx, Buffer& buffer);  // maps the whole allocation
void UnmapBuffer(Context& ctx, Buffer& buffer);
void DestroyBuffer(Context& ctx, Buffer& buffer);  // unmaps implicitly through vkFreeMemory

// An image with its own VkDeviceMemory.
struct Image {
  VkImage image = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkFormat format = VK_FORMAT_UNDEFINED;
  uint32_t width = 0, height = 0, mip_levels = 1, array_layers = 1;
  VkImageTiling tiling = VK_IMAGE_TILING_OPTIMAL;
  VkDeviceSize alloc_size = 0;
  uint32_t memory_type = 0;
};
struct ImageDesc {
  VkFormat format = VK_FORMAT_R8G8B8A8_UNORM;
  uint32_t width = 1, height = 1, mip_levels = 1, array_layers = 1;
  VkImageTiling tiling = VK_IMAGE_TILING_OPTIMAL;
  VkImageUsageFlags usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  VkImageLayout initial_layout = VK_IMAGE_LAYOUT_UNDEFINED;
};
VkImage CreateImageHandle(Context& ctx, const ImageDesc& desc);
Image CreateImage(Context& ctx, const ImageDesc& desc, VkMemoryPropertyFlags required,
                  VkMemoryPropertyFlags preferred = 0);
void DestroyImage(Context& ctx, Image& image);

// Bytes per texel of the uncompressed color formats the apps use; throws for others.
uint32_t FormatTexelSize(VkFormat format);
// True if the format supports the given features with the given tiling.
bool FormatSupports(Context& ctx, VkFormat format, VkImageTiling tiling, VkFormatFeatureFlags features);

// Layout transition barrier for a color/depth image (all mips and layers).
void CmdImageBarrier(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, VkImageLayout old_layout,
                     VkImageLayout new_layout, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                     VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);
// Global memory barrier.
void CmdMemoryBarrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                      VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);

// ---- the "transform" compute shader (shaders/transform.comp) --------------------------------

// CPU reference of the shader: out[i] = TransformValue(in[i], add, i).
inline uint32_t TransformValue(uint32_t x, uint32_t add, uint32_t i) {
  return ((x * 0x9E3779B1u) ^ (x >> 15)) + add + i;
}

// Pipeline for shaders/transform.comp: set 0 = {binding 0: input SSBO, binding 1: output SSBO},
// push constants {uint count; uint add;}, local size 64.
class TransformPipeline {
 public:
  TransformPipeline(Context& ctx, uint32_t max_sets);
  ~TransformPipeline();
  TransformPipeline(const TransformPipeline&) = delete;
  TransformPipeline& operator=(const TransformPipeline&) = delete;

  // A descriptor set (from the pipeline's pool) pointing at the two buffer ranges.
  VkDescriptorSet AllocateSet(VkBuffer input, VkDeviceSize input_offset, VkDeviceSize input_range, VkBuffer output,
                              VkDeviceSize output_offset, VkDeviceSize output_range);
  // Binds pipeline + set, pushes constants and dispatches ceil(count / 64) groups.
  void CmdDispatch(VkCommandBuffer cmd, VkDescriptorSet set, uint32_t count, uint32_t add) const;

 private:
  void Destroy();
  Context& ctx_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
};

// Monotonic milliseconds, for informational timings only.
double NowMs();

}  // namespace vkapp
