// The device-extension filter: which device extensions the layer lets the application see.
#pragma once

namespace vma::layer {

// True when the extension is known to this build (it is in the 1.3.239 registry the layer was
// built against, on the reviewed list of newer ones, or one the layer implements itself) and either carries no VkDeviceMemory
// or is translated by the layer. Unknown and untranslated ones are hidden.
bool IsDeviceExtensionAllowed(const char* name);

}  // namespace vma::layer
