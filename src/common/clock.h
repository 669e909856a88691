// The clock seam: everything that needs "now" takes a Clock so tests can control time.
#pragma once

#include <atomic>
#include <cstdint>

namespace finsync {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch, UTC.
  virtual int64_t NowMilliseconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMilliseconds() const override;
  static const SystemClock& Instance();
};

// The system clock shifted by a fixed offset: lets a sandbox server (and black-box tests) live
// a few days ahead, e.g. to watch pending transactions book. Thread-safe.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t NowMilliseconds() const override {
    return SystemClock::Instance().NowMilliseconds() + offset_ms_;
  }

 private:
  int64_t offset_ms_;
};

// A clock that only moves when told to; thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_milliseconds) : now_(start_milliseconds) {}
  int64_t NowMilliseconds() const override { return now_.load(); }
  void Advance(int64_t milliseconds) { now_.fetch_add(milliseconds); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace finsync
