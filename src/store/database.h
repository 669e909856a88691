// The storage seam. Callers write portable SQL (`?` placeholders, RETURNING for generated
// ids, no backend-specific functions) and run it through Read or Write; backends (SQLite now,
// PostgreSQL later) translate what differs. Nothing above this header knows which backend runs.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace finsync::store {

// A bound parameter or a column value. Text and blobs are both std::string.
using Value = std::variant<std::monostate, int64_t, std::string>;

inline Value Null() { return std::monostate{}; }
inline Value OptionalText(const std::optional<std::string>& text) {
  return text ? Value(*text) : Null();
}
inline Value OptionalInt(const std::optional<int64_t>& number) {
  return number ? Value(*number) : Null();
}

class Row {
 public:
  explicit Row(std::vector<Value> columns) : columns_(std::move(columns)) {}
  size_t size() const { return columns_.size(); }
  bool IsNull(size_t index) const {
    return std::holds_alternative<std::monostate>(columns_[index]);
  }
  int64_t Int(size_t index) const;       // 0 for NULL.
  std::string Text(size_t index) const;  // "" for NULL.
  std::optional<std::string> OptionalText(size_t index) const;
  std::optional<int64_t> OptionalInt(size_t index) const;

 private:
  std::vector<Value> columns_;
};

// One connection inside a Read or Write. Not thread-safe; valid only inside the callback.
class Connection {
 public:
  virtual ~Connection() = default;
  // Runs a statement that returns rows (SELECT, or INSERT/UPDATE ... RETURNING).
  virtual Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) = 0;
  // Runs a statement and returns the number of rows it changed.
  virtual Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) = 0;

  Result<std::vector<Row>> Query(std::string_view sql, std::initializer_list<Value> params) {
    return Query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  Result<int64_t> Execute(std::string_view sql, std::initializer_list<Value> params) {
    return Execute(sql, std::span<const Value>(params.begin(), params.size()));
  }
};

using Work = std::function<Status(Connection&)>;

class Database {
 public:
  virtual ~Database() = default;
  // Runs `work` against a consistent snapshot. Thread-safe; may block for a free reader.
  virtual Status Read(const Work& work) = 0;
  // Runs `work` atomically: everything it wrote commits together or not at all. Returns after
  // the commit is durable (it survives kill -9 and power loss). A non-OK status from `work`
  // rolls back its writes. Thread-safe; concurrent writes are committed in groups.
  virtual Status Write(Work work) = 0;
  // Like Write but does not wait; for best-effort bookkeeping (last_used_at).
  virtual void WriteDetached(Work work) = 0;
  // Checks that the store answers; used by /readyz.
  virtual Status Ping() = 0;
  virtual std::string_view backend_name() const = 0;
};

struct DatabaseOptions {
  int reader_count = 4;
  int write_batch_max = 256;  // Most writes committed together in one transaction.
};

// Opens the database at `url`: a file path (SQLite). Runs pending migrations.
Result<std::unique_ptr<Database>> Open(const std::string& url, const DatabaseOptions& options);

}  // namespace finsync::store
