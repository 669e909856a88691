#include "ingest/ingest.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace finsync::ingest {
namespace {

using domain::BankTransaction;

domain::Date D(std::string_view text) { return domain::ParseDate(text).date; }

BankTransaction Card(std::string id, std::string date, int64_t amount_minor, std::string name,
                     std::string text = "CARD PAYMENT") {
  BankTransaction t;
  t.transaction_id = std::move(id);
  t.booking_date = D(date);
  t.value_date = D(date);
  t.amount_minor = amount_minor;
  t.currency = "EUR";
  t.creditor.name = std::move(name);
  t.remittance_information_unstructured = std::move(text);
  t.source = "test";
  return t;
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("finsync_ingest_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
    auto database = store::Open(path_.string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok());
    database_ = std::move(database.value());
    ASSERT_TRUE(database_
                    ->Write([&](store::Connection& c) -> Status {
                      auto user = c.Query(
                          "INSERT INTO users (email, name, created_at) VALUES ('u@x.y', '', 0) "
                          "RETURNING id",
                          {});
                      account_.user_id = user.value()[0].Int(0);
                      auto connection = c.Query(
                          "INSERT INTO bank_connections (user_id, institution_id, "
                          "integrator, status, max_historical_days, access_valid_for_days, "
                          "created_at, updated_at) VALUES (?, 'X', 'SANDBOX', 'LN', 90, 90, "
                          "0, 0) RETURNING id",
                          {account_.user_id});
                      auto bank_account = c.Query(
                          "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, "
                          "currency, fields_for_duplicate_filtering, created_at, updated_at) "
                          "VALUES (?, ?, 'acc', 'EUR', '[]', 0, 0) RETURNING id",
                          {account_.user_id, connection.value()[0].Int(0)});
                      account_.bank_account_id = bank_account.value()[0].Int(0);
                      return Status::Ok();
                    })
                    .ok());
    pipeline_ = std::make_unique<Pipeline>(*database_, clock_);
  }
  void TearDown() override {
    pipeline_.reset();
    database_.reset();
    Cleanup();
  }
  void Cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }

  Outcome Run(Batch batch) {
    auto outcome = pipeline_->Ingest(account_, std::move(batch));
    EXPECT_TRUE(outcome.ok()) << (outcome.ok() ? "" : outcome.error().detail);
    return outcome.ok() ? outcome.value() : Outcome{};
  }

  std::vector<BankTransaction> Stored() {
    std::vector<BankTransaction> rows;
    EXPECT_TRUE(database_
                    ->Read([&](store::Connection& c) -> Status {
                      auto result = c.Query("SELECT " + std::string(kTransactionColumns) +
                                                " FROM bank_transactions ORDER BY id",
                                            {});
                      if (!result.ok()) return result.status();
                      for (const auto& row : result.value()) {
                        rows.push_back(TransactionFromRow(row));
                      }
                      return Status::Ok();
                    })
                    .ok());
    return rows;
  }

  int64_t ChangeCount(std::string_view kind) {
    int64_t count = 0;
    EXPECT_TRUE(database_
                    ->Read([&](store::Connection& c) -> Status {
                      auto result =
                          c.Query("SELECT COUNT(*) FROM transaction_changes WHERE kind = ?",
                                  {std::string(kind)});
                      count = result.value()[0].Int(0);
                      return Status::Ok();
                    })
                    .ok());
    return count;
  }

  ManualClock clock_{1'750'000'000'000};
  std::filesystem::path path_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<Pipeline> pipeline_;
  AccountConfig account_;
};

// Proves ingesting the same batch twice stores it once and reports the second run unchanged.
TEST_F(IngestTest, SameBatchTwiceChangesNothing) {
  Batch batch;
  batch.booked = {Card("t1", "2025-03-01", -1250, "Albert Heijn"),
                  Card("t2", "2025-03-02", -499, "Spotify")};
  Outcome first = Run(batch);
  EXPECT_EQ(first.added, 2);
  Outcome second = Run(batch);
  EXPECT_EQ(second.added, 0);
  EXPECT_EQ(second.modified, 0);
  EXPECT_EQ(second.unchanged, 2);
  EXPECT_EQ(Stored().size(), 2u);
  EXPECT_EQ(ChangeCount("added"), 2);
}

// Proves two genuine identical bookings without ids on one day are both kept, and a re-fetch
// maps onto them instead of adding more.
TEST_F(IngestTest, IdenticalTwinsWithoutIdsAreBothKept) {
  Batch batch;
  batch.booked = {Card("", "2025-03-01", -300, "Coffee Bar"),
                  Card("", "2025-03-01", -300, "Coffee Bar")};
  EXPECT_EQ(Run(batch).added, 2);
  EXPECT_EQ(Run(batch).unchanged, 2);
  batch.booked.push_back(Card("", "2025-03-01", -300, "Coffee Bar"));
  EXPECT_EQ(Run(batch).added, 1);
  EXPECT_EQ(Stored().size(), 3u);
}

// Proves a pending transaction that books under a new id and a different amount (a fuel
// pre-authorisation) updates the pending row rather than adding a second transaction.
TEST_F(IngestTest, PendingBooksUnderNewIdWithoutDuplicate) {
  Batch pending;
  pending.pending = {Card("", "2025-03-03", -10000, "Shell Station", "PREAUTH")};
  EXPECT_EQ(Run(pending).added, 1);
  auto before = Stored();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_FALSE(before[0].booked());

  Batch booked;
  booked.booked = {Card("B-77", "2025-03-05", -4512, "Shell Station", "FUEL")};
  Outcome outcome = Run(booked);
  EXPECT_EQ(outcome.added, 0);
  EXPECT_EQ(outcome.modified, 1);
  auto after = Stored();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, before[0].id);
  EXPECT_TRUE(after[0].booked());
  EXPECT_EQ(after[0].transaction_id, "B-77");
  EXPECT_EQ(after[0].amount_minor, -4512);
  EXPECT_EQ(Run(booked).unchanged, 1);
}

// Proves a foreign-currency card payment whose amount and text change when it books (the
// booked text prefixes the pending one) still updates the pending row.
TEST_F(IngestTest, PendingWithChangedAmountAndPrefixedTextBooks) {
  Batch pending;
  BankTransaction fx = Card("", "2025-03-03", -3736, "");
  fx.remittance_information_unstructured = "MIGROS ZUERICH";
  pending.pending = {fx};
  EXPECT_EQ(Run(pending).added, 1);
  Batch booked;
  BankTransaction final_fx = Card("B-9", "2025-03-05", -3741, "");
  final_fx.remittance_information_unstructured = "CARD 1686 MIGROS ZUERICH";
  booked.booked = {final_fx};
  Outcome outcome = Run(booked);
  EXPECT_EQ(outcome.added, 0);
  EXPECT_EQ(outcome.modified, 1);
  EXPECT_EQ(outcome.removed, 0);
  ASSERT_EQ(Stored().size(), 1u);
  EXPECT_EQ(Stored()[0].amount_minor, -3741);
}

// Proves a stored pending transaction that the bank no longer lists is removed, with a
// "removed" change, while booked ones stay.
TEST_F(IngestTest, VanishedPendingIsRemoved) {
  Batch first;
  first.booked = {Card("t1", "2025-03-01", -100, "A")};
  first.pending = {Card("", "2025-03-02", -200, "B")};
  EXPECT_EQ(Run(first).added, 2);
  Batch second;
  second.booked = {Card("t1", "2025-03-01", -100, "A")};
  Outcome outcome = Run(second);
  EXPECT_EQ(outcome.removed, 1);
  EXPECT_EQ(Stored().size(), 1u);
  EXPECT_EQ(ChangeCount("removed"), 1);
}

// Proves a corrected booked transaction (same id, new text) is updated and reported modified.
TEST_F(IngestTest, CorrectedBookedTransactionIsModified) {
  Batch batch;
  batch.booked = {Card("t1", "2025-03-01", -100, "A", "old text")};
  Run(batch);
  batch.booked[0].remittance_information_unstructured = "new text";
  Outcome outcome = Run(batch);
  EXPECT_EQ(outcome.modified, 1);
  EXPECT_EQ(Stored()[0].generated.description, "new text");
}

// Proves transactions without a date or with an unknown currency are rejected, not stored.
TEST_F(IngestTest, UnusableTransactionsAreRejected) {
  Batch batch;
  BankTransaction no_date = Card("t1", "2025-03-01", -100, "A");
  no_date.booking_date.reset();
  no_date.value_date.reset();
  BankTransaction bad_currency = Card("t2", "2025-03-01", -100, "A");
  bad_currency.currency = "XYZ";
  batch.booked = {no_date, bad_currency, Card("t3", "2025-03-01", -100, "A")};
  Outcome outcome = Run(batch);
  EXPECT_EQ(outcome.rejected, 2);
  EXPECT_EQ(outcome.added, 1);
}

// Proves generated fields follow the configured sources, one line per case.
TEST(GeneratedFieldsTest, SourcesTable) {
  BankTransaction out = Card("x", "2025-03-01", -100, "Creditor Co", "remit text");
  out.debtor.name = "Me";
  out.additional_information = "extra";
  out.value_date = D("2025-03-03");
  BankTransaction in = out;
  in.amount_minor = 100;
  struct Case {
    const char* label;
    const BankTransaction* transaction;
    TextSource payee;
    TextSource description;
    DateSource date;
    std::string expected_payee, expected_description, expected_date;
  };
  const std::vector<Case> cases = {
      {"auto out", &out, TextSource::kAuto, TextSource::kAuto, DateSource::kAuto, "Creditor Co",
       "remit text", "2025-03-01"},
      {"auto in", &in, TextSource::kAuto, TextSource::kAuto, DateSource::kAuto, "Me", "remit text",
       "2025-03-01"},
      {"chosen", &out, TextSource::kDebtorName, TextSource::kAdditionalInformation,
       DateSource::kValueDate, "Me", "extra", "2025-03-03"},
      {"remittance as payee", &out, TextSource::kRemittanceInformationUnstructured,
       TextSource::kBankTransactionCode, DateSource::kBookingDate, "remit text", "", "2025-03-01"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    AccountConfig account;
    account.payee_source = c.payee;
    account.description_source = c.description;
    account.date_source = c.date;
    BankTransaction t = *c.transaction;
    GenerateFields(account, t);
    EXPECT_EQ(t.generated.payee, c.expected_payee);
    EXPECT_EQ(t.generated.description, c.expected_description);
    EXPECT_EQ(domain::FormatDate(*t.generated.date), c.expected_date);
  }
}

// Proves normalisation trims and collapses whitespace, upper-cases currencies, strips IBAN
// spaces and derives dates from datetimes.
TEST(NormaliseTest, CleansFields) {
  BankTransaction t;
  t.currency = "eur";
  t.creditor.name = "  ALBERT   HEIJN\n 1234 ";
  t.creditor.account_iban = "NL91 ABNA 0417 1643 00";
  t.booking_datetime = domain::ParseTimestamp("2025-03-01T23:30:00Z").timestamp;
  Normalise(t);
  EXPECT_EQ(t.currency, "EUR");
  EXPECT_EQ(t.creditor.name, "ALBERT HEIJN 1234");
  EXPECT_EQ(t.creditor.account_iban, "NL91ABNA0417164300");
  ASSERT_TRUE(t.booking_date.has_value());
  EXPECT_EQ(domain::FormatDate(*t.booking_date), "2025-03-01");
}

}  // namespace
}  // namespace finsync::ingest
