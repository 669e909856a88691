// Bank transactions of one user: list, get, manual create, edit, delete and the change feed.
// The API layer turns HTTP into these plain arguments; everything that touches the store
// lives here. Every statement filters by user_id, so another user's transaction is kNotFound
// exactly like a missing one. Thread-safe: all state lives in the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "domain/transaction.h"
#include "store/database.h"
#include "sync/transactions_query.h"

namespace finsync::sync {

struct TransactionPage {
  std::vector<domain::BankTransaction> transactions;
  std::optional<std::string> next_page_token;  // Cursor style; nullopt on the last page.
  bool has_more = false;
  // Page style only: the number of matching transactions when at most kPageWindowMax match
  // (counting stops there, so it stays cheap over millions of rows), else nullopt.
  std::optional<int64_t> total;
};

// A manual transaction as the client described it. The amount stays text until the currency
// (the given one, else the account's) and with it the number of decimals is known.
struct ManualTransaction {
  int64_t bank_account_id = 0;
  std::string amount_text;
  std::optional<std::string> currency;  // Normalised upper-case code, not yet validated.
  // Everything else: status, identifiers, dates, parties, remittance, codes. Its amount,
  // currency, account, source and generated fields are ignored.
  domain::BankTransaction details;
  std::string raw_payload;  // The request body, kept as the transaction's source record.
};

struct CreatedTransaction {
  domain::BankTransaction transaction;
  // True when the ingest pipeline recognised the manual booked transaction as the booked
  // version of a stored pending one and updated that row instead of adding a second one.
  bool booked_a_pending_transaction = false;
};

// Users edit the generated fields: they are what budgeting apps receive. Absent (outer
// nullopt) leaves a field as it is; null (inner nullopt) restores the value the account's
// configuration generates from the bank's fields.
struct TransactionEdit {
  std::optional<std::optional<std::string>> payee;
  std::optional<std::optional<std::string>> description;
  std::optional<std::optional<domain::Date>> date;
};

struct ChangeFeedPage {
  std::vector<domain::BankTransaction> added;     // Current state.
  std::vector<domain::BankTransaction> modified;  // Current state.
  std::vector<RemovedTransaction> removed;
  std::string next_cursor;  // Always set: the position to poll from next.
  bool has_more = false;
};

class TransactionService {
 public:
  TransactionService(store::Database& database, const Clock& clock)
      : database_(database), clock_(clock) {}

  Result<TransactionPage> List(int64_t user_id, const ListQuery& query);
  // kNotFound when the transaction does not exist for this user.
  Result<domain::BankTransaction> Get(int64_t user_id, int64_t transaction_id);
  // Stores a manual transaction through the ingest pipeline (source "manual"), so generated
  // fields and the change feed are written as for any bank's transaction. Errors:
  // kValidationFailed naming bank_account_id (not the user's), currency or amount (too many
  // decimals, overflow); kConflict when the given transaction_id is already stored for the
  // account.
  Result<CreatedTransaction> Create(int64_t user_id, ManualTransaction manual);
  // Applies `edit` and records a "modified" change in the same database transaction; an edit
  // that changes nothing writes nothing. kNotFound as for Get.
  Result<domain::BankTransaction> Update(int64_t user_id, int64_t transaction_id,
                                         const TransactionEdit& edit);
  // Deletes and records a "removed" change in the same database transaction.
  Status Delete(int64_t user_id, int64_t transaction_id);
  Result<ChangeFeedPage> Changes(int64_t user_id, const ChangeFeedQuery& query);

 private:
  store::Database& database_;
  const Clock& clock_;
};

}  // namespace finsync::sync
