#include "report.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace vma::layer {

std::string Hex(std::uint64_t value) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
    return buf;
}
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
    switch (level) {
        case LogLevel::kTrace: return spdlog::level::trace;
        case LogLevel::kDebug: return spdlog::level::debug;
        case LogLevel::kInfo: return spdlog::level::info;
        case LogLevel::kWarn: return spdlog::level::warn;
        case LogLevel::kError: return spdlog::level::err;
        case LogLevel::kOff: return spdlog::level::off;
    }
    return spdlog::level::info;
}

spdlog::level::level_enum ToSpdlog(Severity s) {
    switch (s) {
        case Severity::kDebug: return spdlog::level::debug;
        case Severity::kInfo: return spdlog::level::info;
        case Severity::kWarning: return spdlog::level::warn;
        case Severity::kError: return spdlog::level::err;
    }
    return spdlog::level::info;
}

VkDebugUtilsMessageSeverityFlagBitsEXT ToVk(Severity s) {
    switch (s) {
        case Severity::kDebug: return VK_DEBUG_UTILS_MESSAGE_SEVERITY_VERBOSE_BIT_EXT;
        case Severity::kInfo: return VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT;
        case Severity::kWarning: return VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
        case Severity::kError: return VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    }
    return VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT;
}

}  // namespace

Reporter::Reporter(const Settings& settings) : level_(settings.logLevel) {
    spdlog::sink_ptr sink;
    if (!settings.logFile.empty()) {
        try {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(settings.logFile, /*truncate=*/false);
        } catch (const std::exception& e) {
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
            sink->log(spdlog::details::log_msg("vma", spdlog::level::warn,
                                               std::string("[vma] cannot open log_file: ") + e.what()));
        }
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    logger_ = std::make_shared<spdlog::logger>("vma", sink);
    logger_->set_pattern("[vma] %L %v");
    logger_->set_level(ToSpdlog(level_));
    logger_->flush_on(spdlog::level::warn);
}

Reporter::~Reporter() { Flush(); }

bool Reporter::Enabled(Severity severity) const { return logger_->should_log(ToSpdlog(severity)); }

void Reporter::Report(Severity severity, const char* id, const std::string& message, VkObjectType objectType,
                      std::uint64_t objectHandle) {
    logger_->log(ToSpdlog(severity), "{}: {}", id, message);

    std::vector<Messenger> targets;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& m : messengers_) {
            if ((m.severities & ToVk(severity)) && (m.types & VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT)) {
                targets.push_back(m);
            }
        }
    }
    if (targets.empty()) return;
    const std::string text = std::string("[vma] ") + message;
    VkDebugUtilsObjectNameInfoEXT object{};
    object.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT;
    object.objectType = objectType;
    object.objectHandle = objectHandle;
    VkDebugUtilsMessengerCallbackDataEXT data{};
    data.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT;
    data.pMessageIdName = id;
    data.messageIdNumber = 0;
    data.pMessage = text.c_str();
    data.objectCount = objectHandle ? 1 : 0;
    data.pObjects = objectHandle ? &object : nullptr;
    for (const auto& m : targets) {
        m.callback(ToVk(severity), VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT, &data, m.userData);
    }
}

void Reporter::AddMessenger(VkDebugUtilsMessengerEXT handle, const VkDebugUtilsMessengerCreateInfoEXT& info) {
    if (!info.pfnUserCallback) return;
    std::lock_guard<std::mutex> lock(mutex_);
    messengers_.push_back({handle, info.messageSeverity, info.messageType, info.pfnUserCallback, info.pUserData});
}

void Reporter::RemoveMessenger(VkDebugUtilsMessengerEXT handle) {
    std::lock_guard<std::mutex> lock(mutex_);
    messengers_.erase(std::remove_if(messengers_.begin(), messengers_.end(),
                                     [&](const Messenger& m) { return m.handle == handle; }),
                      messengers_.end());
}

void Reporter::Flush() { logger_->flush(); }

}  // namespace vma::layer
