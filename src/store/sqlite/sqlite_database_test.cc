#include "store/sqlite/sqlite_database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

namespace finsync::store {
namespace {

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_store_test_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    path_ = (directory_ / "test.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::unique_ptr<Database> OpenOrDie() {
    auto database = Open(path_, DatabaseOptions{});
    EXPECT_TRUE(database.ok()) << (database.ok() ? "" : database.error().detail);
    return std::move(database.value());
  }

  static int64_t CountUsers(Database& database) {
    int64_t count = -1;
    Status status = database.Read([&](Connection& connection) -> Status {
      auto rows = connection.Query("SELECT COUNT(*) FROM users", {});
      if (!rows.ok()) return rows.status();
      count = rows.value()[0].Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok());
    return count;
  }

  static Status InsertUser(Connection& connection, const std::string& email) {
    return connection
        .Execute("INSERT INTO users (email, name, created_at) VALUES (?, '', 0)", {email})
        .status();
  }

  std::filesystem::path directory_;
  std::string path_;
};

// Proves migrations run once: reopening an existing file keeps data and applies nothing twice.
TEST_F(SqliteDatabaseTest, MigrationsAreAppliedOnceAndDataPersists) {
  {
    auto database = OpenOrDie();
    ASSERT_TRUE(database->Write([](Connection& c) { return InsertUser(c, "a@x.y"); }).ok());
  }
  auto database = OpenOrDie();
  EXPECT_EQ(CountUsers(*database), 1);
  int64_t applied = 0;
  ASSERT_TRUE(database
                  ->Read([&](Connection& connection) -> Status {
                    auto rows = connection.Query("SELECT COUNT(*) FROM schema_migrations", {});
                    applied = rows.value()[0].Int(0);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_GE(applied, 1);
}

// Proves a failing write rolls back everything it wrote and nothing else, even when it is
// committed in the same group as successful writes.
TEST_F(SqliteDatabaseTest, FailedWriteRollsBackAloneWithinAGroup) {
  auto database = OpenOrDie();
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 40; ++i) {
    writers.emplace_back([&, i] {
      Status status = database->Write([&](Connection& connection) -> Status {
        Status inserted = InsertUser(connection, "user" + std::to_string(i) + "@x.y");
        if (!inserted.ok()) return inserted;
        // Every fourth job fails after writing: its insert must disappear.
        if (i % 4 == 0) return Error::Of(ErrorCode::kValidationFailed, "rejected");
        return Status::Ok();
      });
      if (!status.ok()) failures.fetch_add(1);
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 10);
  EXPECT_EQ(CountUsers(*database), 30);
}

// Proves a unique-constraint violation surfaces as kConflict.
TEST_F(SqliteDatabaseTest, ConstraintViolationIsConflict) {
  auto database = OpenOrDie();
  ASSERT_TRUE(database->Write([](Connection& c) { return InsertUser(c, "dup@x.y"); }).ok());
  Status second = database->Write([](Connection& c) { return InsertUser(c, "dup@x.y"); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
}

// Proves RETURNING gives generated ids and that a detached write is eventually visible.
TEST_F(SqliteDatabaseTest, ReturningAndDetachedWrites) {
  auto database = OpenOrDie();
  int64_t id = 0;
  ASSERT_TRUE(database
                  ->Write([&](Connection& connection) -> Status {
                    auto rows = connection.Query(
                        "INSERT INTO users (email, name, created_at) VALUES ('r@x.y', '', 0) "
                        "RETURNING id",
                        {});
                    if (!rows.ok()) return rows.status();
                    id = rows.value()[0].Int(0);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_GT(id, 0);
  database->WriteDetached([](Connection& c) { return InsertUser(c, "detached@x.y"); });
  // A synchronous write queued after the detached one commits after it.
  ASSERT_TRUE(database->Write([](Connection& c) { return InsertUser(c, "after@x.y"); }).ok());
  EXPECT_EQ(CountUsers(*database), 3);
}

// Proves a bad SQL statement is reported, not thrown, and Ping works.
TEST_F(SqliteDatabaseTest, BadSqlIsAnErrorAndPingAnswers) {
  auto database = OpenOrDie();
  Status status = database->Read([](Connection& connection) {
    return connection.Query("SELECT nope FROM nowhere", {}).status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInternal);
  EXPECT_TRUE(database->Ping().ok());
}

// Proves readers cannot write (they are query-only connections).
TEST_F(SqliteDatabaseTest, ReadersAreQueryOnly) {
  auto database = OpenOrDie();
  Status status = database->Read([](Connection& c) { return InsertUser(c, "no@x.y"); });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(CountUsers(*database), 0);
}

}  // namespace
}  // namespace finsync::store
