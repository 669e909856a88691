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
