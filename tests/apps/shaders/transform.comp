#version 450
// out[i] = f(in[i], i) for i < count; the C++ side (app_compute.cpp, vma_demo.cpp) computes the
// same function to verify every element.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { uint values[]; } src;
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint values[]; } dst;

layout(push_constant) uniform Params {
  uint count;
  uint add;
} params;

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i >= params.count) return;
  uint x = src.values[i];
  dst.values[i] = ((x * 0x9E3779B1u) ^ (x >> 15)) + params.add + i;
}
