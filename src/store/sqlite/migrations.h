// Numbered schema migrations for the SQLite backend. Applied in order at start-up, each in
// its own transaction, and recorded in schema_migrations. Never edit a landed migration: add
// a new one.
#pragma once

#include <span>
#include <string_view>

namespace finsync::store::sqlite {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> Migrations();

}  // namespace finsync::store::sqlite
