#include "store/database.h"

#include "store/sqlite/sqlite_database.h"

namespace finsync::store {

int64_t Row::Int(size_t index) const {
  if (auto* number = std::get_if<int64_t>(&columns_[index])) return *number;
  return 0;
}

std::string Row::Text(size_t index) const {
  if (auto* text = std::get_if<std::string>(&columns_[index])) return *text;
  if (auto* number = std::get_if<int64_t>(&columns_[index])) return std::to_string(*number);
  return "";
}

std::optional<std::string> Row::OptionalText(size_t index) const {
  if (IsNull(index)) return std::nullopt;
  return Text(index);
}

std::optional<int64_t> Row::OptionalInt(size_t index) const {
  if (IsNull(index)) return std::nullopt;
  return Int(index);
}

Result<std::unique_ptr<Database>> Open(const std::string& url, const DatabaseOptions& options) {
  // Only SQLite exists today; a "postgresql://" URL will select the PostgreSQL backend.
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return Error::Of(ErrorCode::kBadRequest, "the PostgreSQL backend is not available yet");
  }
  std::string path = url.rfind("sqlite://", 0) == 0 ? url.substr(9) : url;
  return sqlite::OpenSqliteDatabase(path, options);
}

}  // namespace finsync::store
