// The ingest pipeline: one batch of transactions from a source goes in, and one database
// transaction comes out. Steps, in order:
//   normalise -> generated fields -> content keys -> BANK rules (hook) -> dedup and
//   pending-to-booked matching against what is stored -> store + change feed rows.
// Every step works on the whole batch; the store is read once per batch (one range query), so
// the cost per transaction is a few hash lookups plus its own INSERT or UPDATE.
// Thread-safety: Ingest may be called concurrently; the store serialises writes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "domain/transaction.h"
#include "store/database.h"

namespace finsync::ingest {

// Where a generated text field comes from. AUTO picks the first non-empty of the fields banks
// commonly use for it (see GeneratePayee / GenerateDescription).
enum class TextSource : uint8_t {
  kAuto,
  kCreditorName,
  kDebtorName,
  kCounterpartyName,  // Creditor for money out, debtor for money in.
  kRemittanceInformationUnstructured,
  kRemittanceInformationStructured,
  kAdditionalInformation,
  kBankTransactionCode,
};
enum class DateSource : uint8_t { kAuto, kBookingDate, kValueDate };

std::string_view TextSourceName(TextSource source);
std::optional<TextSource> ParseTextSource(std::string_view name);
std::string_view DateSourceName(DateSource source);
std::optional<DateSource> ParseDateSource(std::string_view name);

// Fields that can make up the duplicate filter of transactions without a source id.
enum class DuplicateField : uint8_t {
  kDate,  // The generated date.
  kBookingDate,
  kValueDate,
  kAmount,
  kCurrency,
  kCreditorName,
  kDebtorName,
  kRemittanceInformationUnstructured,
  kRemittanceInformationStructured,
  kAdditionalInformation,
  kBankTransactionCode,
};
std::string_view DuplicateFieldName(DuplicateField field);
std::optional<DuplicateField> ParseDuplicateField(std::string_view name);
std::vector<DuplicateField> DefaultDuplicateFields();

struct AccountConfig {
  int64_t user_id = 0;
  int64_t bank_account_id = 0;
  TextSource payee_source = TextSource::kAuto;
  TextSource description_source = TextSource::kAuto;
  DateSource date_source = DateSource::kAuto;
  bool sync_pending_transactions = true;
  std::vector<DuplicateField> duplicate_fields = DefaultDuplicateFields();
};

struct Batch {
  std::vector<domain::BankTransaction> booked;
  std::vector<domain::BankTransaction> pending;
  // True when `pending` is the source's complete current list of pending transactions; stored
  // pending rows that neither appear in it nor booked are then removed (the bank dropped them).
  bool pending_list_is_complete = true;
};

struct Outcome {
  int64_t added = 0;
  int64_t modified = 0;  // Includes pending rows that booked.
  int64_t unchanged = 0;
  int64_t removed = 0;
  int64_t rejected = 0;  // Transactions without a usable date or currency.
  std::vector<int64_t> added_ids;
  std::vector<int64_t> modified_ids;
  std::vector<int64_t> removed_ids;
};

// Where BANK rules plug in: `Apply` runs on the batch's new and changed transactions before
// they are stored (it edits them in place and keeps its own log entries); `Record` runs in the
// same database transaction after they are stored, when ids are known, to write those logs.
class RuleStage {
 public:
  virtual ~RuleStage() = default;
  virtual void Apply(const AccountConfig& account, std::span<domain::BankTransaction*> changed) = 0;
  virtual Status Record(store::Connection& connection,
                        std::span<domain::BankTransaction* const> stored) = 0;
};

// Pure steps, exposed for tests and benchmarks.
void Normalise(domain::BankTransaction& transaction);
void GenerateFields(const AccountConfig& account, domain::BankTransaction& transaction);
// The duplicate-filter key without the occurrence suffix.
std::string ContentBase(const AccountConfig& account, const domain::BankTransaction& transaction);
// Assigns content keys "base#n": the n-th identical transaction of a batch gets n, so two
// genuine identical bookings on one day are both kept, and a re-fetch maps onto them again.
void AssignContentKeys(const AccountConfig& account, std::span<domain::BankTransaction> batch,
                       std::vector<std::string>& keys);

class Pipeline {
 public:
  Pipeline(store::Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  // Ingests one batch for one account atomically: either all of it is stored (with its change
  // feed rows and rule logs) or none of it. Idempotent: the same batch twice changes nothing.
  Result<Outcome> Ingest(const AccountConfig& account, Batch batch, RuleStage* rules = nullptr);

 private:
  store::Database& database_;
  const Clock& clock_;
};

// SQL helpers shared with the transactions API: the stored column list and row mapping.
extern const std::string_view kTransactionColumns;
domain::BankTransaction TransactionFromRow(const store::Row& row);

}  // namespace finsync::ingest
