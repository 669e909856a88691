// SQLite backend: WAL journal, synchronous=FULL, one writer thread that commits concurrent
// writes in groups (one fsync for many requests), a bounded pool of reader connections, and
// prepared statements cached per connection.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"

namespace finsync::store::sqlite {

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path,
                                                     const DatabaseOptions& options);

}  // namespace finsync::store::sqlite
