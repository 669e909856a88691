// The fields actions may set, per rule type, and the outgoing copy destination rules change.
//
// BANK rules (SET_FIELD) change the stored transaction, and only its generated fields:
// generated.payee, generated.description and generated.date. The bank's own fields stay as
// the bank sent them, so a rule can always be undone and the raw data audited.
// YNAB rules (SET_YNAB_FIELD) set payee_name, memo, date, amount, category_id, category_name,
// flag_color, cleared and approved on the copy sent to YNAB.
// LUNCH_MONEY rules (SET_LUNCH_MONEY_FIELD) set payee, notes, date, amount, category_id,
// status, tags and external_id on the copy sent to Lunch Money.
// WEBHOOK rules (SET_FIELD) set generated.payee, generated.description and generated.date on
// the copy sent to a webhook, whose payload is the bank transaction.
// Destination rules may also SKIP_TRANSFER. Conditions of every rule type read the bank
// transaction, never the outgoing copy.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/date.h"
#include "domain/transaction.h"
#include "rules/rule.h"

namespace finsync::rules {

enum class Destination : uint8_t { kYnab, kLunchMoney, kWebhook };

// The rule type that runs for a destination, and the destination a rule type runs for
// (nullopt for BANK rules, which run in ingest).
RuleType RuleTypeOf(Destination destination);
std::optional<Destination> DestinationOf(RuleType type);

// The copy of a bank transaction sent to one destination. Delivery builds it with
// MakeOutgoingTransaction, destination rules change it, delivery sends it. Length limits of
// the destinations (YNAB payee_name 200, memo 500; Lunch Money payee 140, notes 350) are
// applied by delivery, which knows each API; rules only guarantee well-formed values.
struct OutgoingTransaction {
  Destination destination = Destination::kWebhook;
  bool skip_transfer = false;  // Set by SKIP_TRANSFER: delivery logs "Skipped" and sends nothing.
  std::string payee;           // YNAB payee_name, Lunch Money payee, webhook generated.payee.
  std::string description;     // YNAB memo, Lunch Money notes, webhook generated.description.
  std::optional<domain::Date> date;  // YNAB and Lunch Money date, webhook generated.date.
  int64_t amount_minor = 0;          // In `currency`; rules may change it (YNAB, Lunch Money).
  std::string currency;              // Never changed by rules: a rule cannot convert money.
  std::string category_id;    // YNAB: a category UUID; Lunch Money: a category number; or "".
  std::string category_name;  // YNAB only; delivery resolves it to a category id.
  std::string flag_color;     // YNAB only: "" (no flag), red, orange, yellow, green, blue, purple.
  std::string cleared;        // YNAB cleared/uncleared/reconciled; Lunch Money cleared/uncleared.
  std::optional<bool> approved;   // YNAB only; nullopt leaves YNAB's default.
  std::vector<std::string> tags;  // Lunch Money only.
  std::string external_id;        // Lunch Money only; "" lets delivery choose one.
};

// The copy before any rule ran: the generated fields, the date (generated, else booking,
// else value date), the amount, and cleared for booked or uncleared for pending transactions.
OutgoingTransaction MakeOutgoingTransaction(const domain::BankTransaction& transaction,
                                            Destination destination);

// What an action sets. For BANK rules kPayee, kDescription and kDate are the transaction's
// generated fields; for destination rules they are the outgoing copy's fields.
enum class TargetField : uint8_t {
  kPayee,
  kDescription,
  kDate,
  kAmount,
  kCategoryId,
  kCategoryName,
  kFlagColor,
  kCleared,
  kApproved,
  kTags,
  kExternalId,
};

struct TargetInfo {
  TargetField field;
  std::string_view name;  // The API's field_name for this rule type ("payee_name", "notes").
};

// Whether an action type may appear in a rule of this type (BANK: SET_FIELD; YNAB:
// SET_YNAB_FIELD, SKIP_TRANSFER; LUNCH_MONEY: SET_LUNCH_MONEY_FIELD, SKIP_TRANSFER; WEBHOOK:
// SET_FIELD, SKIP_TRANSFER).
bool ActionAllowed(RuleType rule_type, ActionType action_type);
// "SET_YNAB_FIELD, SKIP_TRANSFER" for error messages.
std::string AllowedActionList(RuleType rule_type);

// The fields a set-action of a rule of this type may name, and lookup by exact name.
std::span<const TargetInfo> TargetFieldsFor(RuleType rule_type);
std::optional<TargetInfo> FindTargetField(RuleType rule_type, std::string_view name);
std::string TargetFieldList(RuleType rule_type);

// The current value as text, as rule logs show it: dates "YYYY-MM-DD" or "", amounts as
// decimal text, approved "true"/"false"/"", tags joined by ",".
std::string ReadTarget(TargetField field, const domain::BankTransaction& transaction);
std::string ReadTarget(TargetField field, const OutgoingTransaction& outgoing);

// Stores a rendered value; on failure nothing changes and the returned message says why
// (empty on success). Structured values (dates, amounts, enums, ids, tags) are read after
// trimming ASCII whitespace; payee, description and names are stored exactly.
std::string WriteTarget(TargetField field, std::string_view value,
                        domain::BankTransaction& transaction);
std::string WriteTarget(TargetField field, std::string_view value, OutgoingTransaction& outgoing);

// WriteTarget for the evaluator's hot path: takes the value by move and moves the previous
// text out instead of copying it. On success `previous_value` holds what ReadTarget showed
// before the write; on failure nothing changes, `value` is left as it was and
// `previous_value` holds the current value.
std::string ReplaceTarget(TargetField field, std::string&& value,
                          domain::BankTransaction& transaction, std::string& previous_value);
std::string ReplaceTarget(TargetField field, std::string&& value, OutgoingTransaction& outgoing,
                          std::string& previous_value);

// The checks WriteTarget makes that do not depend on the transaction, for values known when a
// rule is saved. Amounts are checked against the largest exponent of any currency. Returns the
// problem, or "" when the value is acceptable.
std::string CheckConstantTargetValue(RuleType rule_type, TargetField field, std::string_view value);

}  // namespace finsync::rules
