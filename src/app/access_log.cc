#include "app/access_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>

namespace finsync::app {

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& destination) {
  if (destination == "stdout") return std::unique_ptr<AccessLog>(new AccessLog(stdout, false));
  std::FILE* file = std::fopen(destination.c_str(), "a");
  if (file == nullptr) {
    return Error::Of(ErrorCode::kUnavailable,
                     "cannot open access log " + destination + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AccessLog>(new AccessLog(file, true));
}

AccessLog::AccessLog(std::FILE* file, bool owns_file) : file_(file), owns_file_(owns_file) {
  flusher_ = std::thread([this] { FlushLoop(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  flusher_.join();
  Flush();
  if (owns_file_) std::fclose(file_);
}

void AccessLog::Write(std::string_view line) {
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    buffer_.append(line);
    buffer_.push_back('\n');
    full = buffer_.size() >= kFlushThresholdBytes;
  }
  if (full) wake_.notify_one();
}

void AccessLog::Flush() {
  std::string pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(buffer_);
  }
  if (pending.empty()) return;
  std::lock_guard lock(file_mutex_);
  std::fwrite(pending.data(), 1, pending.size(), file_);
  std::fflush(file_);
}

void AccessLog::FlushLoop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(100),
                     [this] { return stopping_ || buffer_.size() >= kFlushThresholdBytes; });
      if (stopping_) return;
    }
    Flush();
  }
}

}  // namespace finsync::app
