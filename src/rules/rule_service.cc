#include "rules/rule_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "domain/date.h"
#include "rules/target_field.h"

namespace finsync::rules {

namespace {

using store::Connection;
using FieldErrors = std::vector<FieldError>;

Error NotFound(std::string_view what, int64_t id) {
  return Error::Of(ErrorCode::kNotFound,
                   std::string(what) + " " + std::to_string(id) + " was not found.");
}

Error Invalid(FieldErrors errors) {
  Error error =
      Error::Of(ErrorCode::kValidationFailed, "The rule is invalid: " + errors.front().field + " " +
                                                  errors.front().message + ".");
  error.field_errors = std::move(errors);
  return error;
}

Error PlanLimit(std::string message) {
  return Error::Of(ErrorCode::kPlanLimitReached, "Plan limit reached: " + std::move(message));
}

FieldErrors ValidationErrors(const Rule& rule) {
  Status status = ValidateRule(rule);
  if (status.ok()) return {};
  if (status.error().field_errors.empty()) return {{"rule", status.error().detail}};
  return status.error().field_errors;
}

// Field errors of item `index` of `list` keyed by the item's own fields, for the routes that
// change one condition or action: "conditions.3.value" becomes "value".
FieldErrors ItemErrors(FieldErrors errors, std::string_view list, size_t index) {
  const std::string prefix = std::string(list) + "." + std::to_string(index) + ".";
  for (FieldError& error : errors) {
    if (error.field.starts_with(prefix)) error.field = error.field.substr(prefix.size());
  }
  return errors;
}

Status CheckItemLimits(const Rule& rule, const RuleLimits& limits) {
  if (static_cast<int64_t>(rule.conditions.size()) > limits.conditions_per_rule_max) {
    return PlanLimit("a rule can have at most " + std::to_string(limits.conditions_per_rule_max) +
                     " conditions (rule_conditions_max).");
  }
  if (static_cast<int64_t>(rule.actions.size()) > limits.actions_per_rule_max) {
    return PlanLimit("a rule can have at most " + std::to_string(limits.actions_per_rule_max) +
                     " actions (rule_actions_max).");
  }
  return Status::Ok();
}

std::string TargetNoun(TargetKind kind) {
  switch (kind) {
    case TargetKind::kBankAccount:
      return "bank account";
    case TargetKind::kTransferLink:
      return "transfer link";
    case TargetKind::kYnab:
    case TargetKind::kLunchMoney:
    case TargetKind::kWebhook:
      return std::string(TargetKindName(kind)) + " destination";
  }
  return "target";
}

bool Compatible(RuleType type, TargetKind kind) {
  switch (kind) {
    case TargetKind::kBankAccount:
      return type == RuleType::kBank;
    case TargetKind::kTransferLink:
      return type != RuleType::kBank;
    case TargetKind::kYnab:
      return type == RuleType::kYnab;
    case TargetKind::kLunchMoney:
      return type == RuleType::kLunchMoney;
    case TargetKind::kWebhook:
      return type == RuleType::kWebhook;
  }
  return false;
}

std::string WrongTypeMessage(RuleType type, TargetKind kind) {
  const std::string rule = "a " + std::string(RuleTypeName(type)) + " rule";
  switch (kind) {
    case TargetKind::kBankAccount:
      return rule + " cannot be attached to a bank account: bank accounts run BANK rules";
    case TargetKind::kTransferLink:
      return rule +
             " cannot be attached to a transfer link: transfer links run YNAB, "
             "LUNCH_MONEY and WEBHOOK rules";
    default:
      return rule + " cannot be attached to a " + TargetNoun(kind) + ": it runs " +
             std::string(TargetKindName(kind)) + " rules";
  }
}

std::string MissingTargetMessage(TargetKind kind, int64_t target_id) {
  return "no " + TargetNoun(kind) + " with id " + std::to_string(target_id);
}

enum class TargetProblem : uint8_t { kNone, kWrongType, kMissing };
struct TargetCheck {
  TargetProblem problem = TargetProblem::kNone;
  std::string message;
};

// The SQL that finds a live target of each kind; a transfer link also answers its
// destination type, which must match the rule's type.
std::string_view TargetQuery(TargetKind kind) {
  switch (kind) {
    case TargetKind::kBankAccount:
      return "SELECT 'BANK' FROM bank_accounts WHERE id = ? AND user_id = ?";
    case TargetKind::kTransferLink:
      return "SELECT destination_type FROM transfer_links WHERE id = ? AND user_id = ?";
    case TargetKind::kYnab:
      return "SELECT 'YNAB' FROM ynab_budget_accounts WHERE id = ? AND user_id = ? AND ignored = 0";
    case TargetKind::kLunchMoney:
      return "SELECT 'LUNCH_MONEY' FROM lunch_money_assets WHERE id = ? AND user_id = ?";
    case TargetKind::kWebhook:
      return "SELECT 'WEBHOOK' FROM webhook_destinations WHERE id = ? AND user_id = ?";
  }
  return "";
}

Result<TargetCheck> CheckTarget(Connection& connection, int64_t user_id, RuleType type,
                                TargetKind kind, int64_t target_id) {
  if (!Compatible(type, kind))
    return TargetCheck{TargetProblem::kWrongType, WrongTypeMessage(type, kind)};
  auto rows = connection.Query(TargetQuery(kind), {target_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) {
    return TargetCheck{TargetProblem::kMissing, MissingTargetMessage(kind, target_id)};
  }
  if (kind == TargetKind::kTransferLink) {
    const std::string destination = rows.value()[0].Text(0);
    if (destination != RuleTypeName(type)) {
      return TargetCheck{TargetProblem::kWrongType,
                         "a " + std::string(RuleTypeName(type)) +
                             " rule cannot be attached to a transfer link to " + destination +
                             ": it runs " + destination + " rules"};
    }
  }
  return TargetCheck{};
}

// A target and the position the rule is asked to take there.
struct ResolvedTarget {
  TargetKind kind = TargetKind::kBankAccount;
  int64_t target_id = 0;
  std::optional<int64_t> order;
};

Status ResolveList(Connection& connection, int64_t user_id, RuleType type, std::string_view list,
                   const std::vector<TargetRequest>& requests, std::vector<ResolvedTarget>& out,
                   FieldErrors& errors) {
  for (size_t index = 0; index < requests.size(); ++index) {
    const TargetRequest& request = requests[index];
    const std::string key = std::string(list) + "." + std::to_string(index) + ".id";
    if (request.order && *request.order < 0) {
      errors.push_back(
          {std::string(list) + "." + std::to_string(index) + ".order", "must be 0 or more"});
    }
    auto check = CheckTarget(connection, user_id, type, request.kind, request.id);
    if (!check.ok()) return check.error();
    if (check.value().problem != TargetProblem::kNone) {
      errors.push_back({key, check.value().message});
      continue;
    }
    out.push_back({request.kind, request.id, request.order});
  }
  return Status::Ok();
}

Status ResolveBanks(Connection& connection, int64_t user_id, RuleType type,
                    const std::vector<TargetRequest>& requests, std::vector<ResolvedTarget>& out,
                    FieldErrors& errors) {
  for (size_t index = 0; index < requests.size(); ++index) {
    const std::string key = "banks." + std::to_string(index) + ".id";
    if (type != RuleType::kBank) {
      errors.push_back({key, WrongTypeMessage(type, TargetKind::kBankAccount)});
      continue;
    }
    auto accounts = rule_store::ConnectionAccountIds(connection, user_id, requests[index].id);
    if (!accounts.ok()) return accounts.error();
    if (!accounts.value()) {
      errors.push_back({key, "no bank connection with id " + std::to_string(requests[index].id)});
      continue;
    }
    for (int64_t account_id : *accounts.value()) {
      out.push_back({TargetKind::kBankAccount, account_id, requests[index].order});
    }
  }
  return Status::Ok();
}

Status ResolveTargets(Connection& connection, int64_t user_id, RuleType type,
                      const AttachmentRequests& requests, std::vector<ResolvedTarget>& out,
                      FieldErrors& errors) {
  Status status = Status::Ok();
  if (requests.bank_accounts) {
    status = ResolveList(connection, user_id, type, "bank_accounts", *requests.bank_accounts, out,
                         errors);
  }
  if (status.ok() && requests.transfer_links) {
    status = ResolveList(connection, user_id, type, "transfer_links", *requests.transfer_links, out,
                         errors);
  }
  if (status.ok() && requests.destinations) {
    status =
        ResolveList(connection, user_id, type, "destinations", *requests.destinations, out, errors);
  }
  if (status.ok() && requests.banks) {
    status = ResolveBanks(connection, user_id, type, *requests.banks, out, errors);
  }
  return status;
}

// Puts the rule at `order` (default: last) in the target's list, keeping positions dense.
Result<std::vector<int64_t>> PlaceRule(Connection& connection, int64_t user_id, TargetKind kind,
                                       int64_t target_id, int64_t rule_id,
                                       std::optional<int64_t> order, const RuleLimits& limits,
                                       int64_t now_ms) {
  auto ids = rule_store::TargetRuleIds(connection, user_id, kind, target_id);
  if (!ids.ok()) return ids.error();
  std::vector<int64_t>& rule_ids = ids.value();
  auto existing = std::find(rule_ids.begin(), rule_ids.end(), rule_id);
  if (existing == rule_ids.end() &&
      static_cast<int64_t>(rule_ids.size()) >= limits.rules_per_target_max) {
    return PlanLimit("at most " + std::to_string(limits.rules_per_target_max) +
                     " rules can be attached to one " + TargetNoun(kind) + " (" + TargetNoun(kind) +
                     " " + std::to_string(target_id) + " has them; rules_per_target_max).");
  }
  if (existing != rule_ids.end()) {
    if (!order) return ids;
    rule_ids.erase(existing);
  }
  const int64_t size = static_cast<int64_t>(rule_ids.size());
  const int64_t position = std::clamp<int64_t>(order.value_or(size), 0, size);
  rule_ids.insert(rule_ids.begin() + position, rule_id);
  Status stored =
      rule_store::SetTargetRuleIds(connection, user_id, kind, target_id, rule_ids, now_ms);
  if (!stored.ok()) return stored.error();
  return ids;
}

Result<std::vector<int64_t>> RemoveRule(Connection& connection, int64_t user_id, TargetKind kind,
                                        int64_t target_id, int64_t rule_id, int64_t now_ms) {
  auto ids = rule_store::TargetRuleIds(connection, user_id, kind, target_id);
  if (!ids.ok()) return ids.error();
  std::vector<int64_t>& rule_ids = ids.value();
  auto existing = std::find(rule_ids.begin(), rule_ids.end(), rule_id);
  if (existing == rule_ids.end()) return ids;
  rule_ids.erase(existing);
  Status stored =
      rule_store::SetTargetRuleIds(connection, user_id, kind, target_id, rule_ids, now_ms);
  if (!stored.ok()) return stored.error();
  return ids;
}

Status PlaceAll(Connection& connection, int64_t user_id, int64_t rule_id,
                const std::vector<ResolvedTarget>& targets, const RuleLimits& limits,
                int64_t now_ms) {
  for (const ResolvedTarget& target : targets) {
    auto placed = PlaceRule(connection, user_id, target.kind, target.target_id, rule_id,
                            target.order, limits, now_ms);
    if (!placed.ok()) return placed.error();
  }
  return Status::Ok();
}

// Detaches the rule from every target of the kinds an update replaces.
Status DetachKinds(Connection& connection, const StoredRule& stored,
                   const AttachmentRequests& requests, int64_t now_ms) {
  auto replaced = [&requests](TargetKind kind) {
    switch (kind) {
      case TargetKind::kBankAccount:
        return requests.bank_accounts.has_value() || requests.banks.has_value();
      case TargetKind::kTransferLink:
        return requests.transfer_links.has_value();
      default:
        return requests.destinations.has_value();
    }
  };
  for (const Attachment& attachment : stored.attachments) {
    if (!replaced(attachment.kind)) continue;
    auto removed = RemoveRule(connection, stored.user_id, attachment.kind, attachment.target_id,
                              stored.rule.id, now_ms);
    if (!removed.ok()) return removed.status();
  }
  return Status::Ok();
}

RuleLog LogOf(const RuleLogEntry& entry, int64_t user_id, int64_t account_id,
              int64_t transaction_id, int64_t now_ms) {
  RuleLog log;
  log.user_id = user_id;
  log.rule_id = entry.rule_id;
  log.action_id = entry.action_id;
  log.bank_transaction_id = transaction_id;
  log.bank_account_id = account_id;
  log.field = std::string(entry.field);
  log.previous_value = entry.previous_value;
  log.new_value = entry.new_value;
  log.success = entry.success;
  log.message = entry.message;
  log.executed_at_ms = now_ms;
  return log;
}

// A successful action that wrote the value already there changed nothing; apply and preview
// leave it out, so running them twice adds nothing.
bool ChangedOrFailed(const RuleLogEntry& entry) {
  return !entry.success || entry.previous_value != entry.new_value;
}

AccountContext ContextOf(const AccountRecord& account) {
  return AccountContext{account.name, account.iban, account.currency};
}

}  // namespace

void RunBankRules(const CompiledRuleSet& rules, const AccountContext& account,
                  std::span<domain::BankTransaction> transactions, std::vector<RuleLogEntry>& log) {
  const size_t first = log.size();
  std::vector<std::optional<domain::Date>> dates;
  dates.reserve(transactions.size());
  for (const domain::BankTransaction& transaction : transactions) {
    dates.push_back(transaction.generated.date);
  }
  ApplyBankRules(rules, account, transactions, log);
  for (size_t index = first; index < log.size(); ++index) {
    RuleLogEntry& entry = log[index];
    domain::BankTransaction& transaction = transactions[entry.transaction_index];
    if (transaction.generated.date || !dates[entry.transaction_index]) continue;
    if (!entry.success || entry.field != "generated.date" || !entry.new_value.empty()) continue;
    // The stored column holds a date for every transaction (lists sort by it).
    transaction.generated.date = dates[entry.transaction_index];
    entry.success = false;
    entry.message = "generated.date cannot be emptied on a stored transaction";
  }
}

RuleService::RuleService(store::Database& database, const Clock& clock, RuleLimits limits)
    : database_(database), clock_(clock), limits_(limits) {}

void RuleService::Invalidate() {
  std::lock_guard lock(cache_mutex_);
  cache_.clear();
  ++cache_generation_;
}

Result<StoredRule> RuleService::LoadExisting(Connection& connection, int64_t user_id,
                                             int64_t rule_id) {
  auto stored = rule_store::LoadRule(connection, user_id, rule_id);
  if (!stored.ok()) return stored.error();
  if (!stored.value()) return NotFound("Rule", rule_id);
  return std::move(*stored.value());
}

Result<StoredRule> RuleService::CreateRule(int64_t user_id, const NewRule& request) {
  assert(request.rule.actions.size() == request.action_orders.size());
  const int64_t now_ms = clock_.NowMilliseconds();
  int64_t rule_id = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    FieldErrors errors = ValidationErrors(request.rule);
    std::vector<ResolvedTarget> targets;
    Status resolved = ResolveTargets(connection, user_id, request.rule.type, request.attachments,
                                     targets, errors);
    if (!resolved.ok()) return resolved;
    if (!errors.empty()) return Invalid(std::move(errors));
    Status limited = CheckItemLimits(request.rule, limits_);
    if (!limited.ok()) return limited;
    auto inserted =
        rule_store::InsertRule(connection, user_id, request.rule, request.action_orders, now_ms);
    if (!inserted.ok()) return inserted.status();
    rule_id = inserted.value();
    return PlaceAll(connection, user_id, rule_id, targets, limits_, now_ms);
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetRule(user_id, rule_id);
}

Result<StoredRule> RuleService::GetRule(int64_t user_id, int64_t rule_id) {
  Result<StoredRule> found = NotFound("Rule", rule_id);
  Status status = database_.Read([&](Connection& connection) {
    found = LoadExisting(connection, user_id, rule_id);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return found;
}

Result<std::vector<StoredRule>> RuleService::ListRules(int64_t user_id, const RuleFilter& filter,
                                                       int64_t& total) {
  Result<std::vector<StoredRule>> rules = std::vector<StoredRule>();
  Status status = database_.Read([&](Connection& connection) {
    rules = rule_store::ListRules(connection, user_id, filter, total);
    return rules.status();
  });
  if (!status.ok()) return status.error();
  return rules;
}

Result<StoredRule> RuleService::UpdateRule(int64_t user_id, int64_t rule_id,
                                           const RuleUpdate& update) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = LoadExisting(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    Rule rule = stored.value().rule;
    if (update.type && *update.type != rule.type) {
      return Invalid({{"type", "cannot change after creation: this is a " +
                                   std::string(RuleTypeName(rule.type)) + " rule"}});
    }
    if (update.name) rule.name = *update.name;
    if (update.description) rule.description = *update.description;
    if (update.enabled) rule.enabled = *update.enabled;
    if (update.trigger_on_any_condition) {
      rule.trigger_on_any_condition = *update.trigger_on_any_condition;
    }
    if (update.skip_other_rules_when_triggered) {
      rule.skip_other_rules_when_triggered = *update.skip_other_rules_when_triggered;
    }
    if (update.conditions) rule.conditions = *update.conditions;
    if (update.actions) rule.actions = *update.actions;
    FieldErrors errors = ValidationErrors(rule);
    std::vector<ResolvedTarget> targets;
    Status resolved =
        ResolveTargets(connection, user_id, rule.type, update.attachments, targets, errors);
    if (!resolved.ok()) return resolved;
    if (!errors.empty()) return Invalid(std::move(errors));
    Status result = CheckItemLimits(rule, limits_);
    if (result.ok()) result = rule_store::UpdateRuleFields(connection, user_id, rule, now_ms);
    if (result.ok() && update.conditions) {
      result = rule_store::ReplaceConditions(connection, user_id, rule_id, rule.conditions, now_ms);
    }
    if (result.ok() && update.actions) {
      result = rule_store::ReplaceActions(connection, user_id, rule_id, rule.actions,
                                          update.action_orders, now_ms);
    }
    if (result.ok()) result = DetachKinds(connection, stored.value(), update.attachments, now_ms);
    if (result.ok()) result = PlaceAll(connection, user_id, rule_id, targets, limits_, now_ms);
    return result;
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetRule(user_id, rule_id);
}

Status RuleService::DeleteRule(int64_t user_id, int64_t rule_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto deleted = rule_store::DeleteRule(connection, user_id, rule_id, now_ms);
    if (!deleted.ok()) return deleted.status();
    return deleted.value() ? Status::Ok() : Status(NotFound("Rule", rule_id));
  });
  if (status.ok()) Invalidate();
  return status;
}

// Conditions and actions as resources.

namespace {

Status ValidateChanged(const Rule& rule, std::string_view list, size_t index,
                       const RuleLimits& limits) {
  FieldErrors errors = ItemErrors(ValidationErrors(rule), list, index);
  if (!errors.empty()) return Invalid(std::move(errors));
  return CheckItemLimits(rule, limits);
}

void ApplyPatch(const ConditionPatch& patch, Condition& condition) {
  if (patch.field_name) condition.field_name = *patch.field_name;
  if (patch.operation) condition.operation = *patch.operation;
  if (patch.value) condition.value = *patch.value;
  if (patch.case_sensitive) condition.case_sensitive = *patch.case_sensitive;
}

void ApplyPatch(const ActionPatch& patch, Action& action, int64_t& order) {
  if (patch.type) action.type = *patch.type;
  if (patch.field_name) action.field_name = *patch.field_name;
  if (patch.value) action.value = *patch.value;
  if (patch.order) order = *patch.order;
}

template <typename Item>
std::optional<size_t> IndexOf(const std::vector<Item>& items, int64_t id) {
  for (size_t index = 0; index < items.size(); ++index) {
    if (items[index].id == id) return index;
  }
  return std::nullopt;
}

Error NoSuchRuleField(int64_t rule_id) {
  FieldErrors errors{{"rule_id", "no rule with id " + std::to_string(rule_id)}};
  return Invalid(std::move(errors));
}

}  // namespace

Result<ConditionResource> RuleService::CreateCondition(int64_t user_id, int64_t rule_id,
                                                       const ConditionPatch& fields) {
  const int64_t now_ms = clock_.NowMilliseconds();
  int64_t condition_id = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = rule_store::LoadRule(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    if (!stored.value()) return NoSuchRuleField(rule_id);
    Rule rule = stored.value()->rule;
    rule.conditions.emplace_back();
    ApplyPatch(fields, rule.conditions.back());
    Status valid = ValidateChanged(rule, "conditions", rule.conditions.size() - 1, limits_);
    if (!valid.ok()) return valid;
    const std::vector<ItemRecord>& records = stored.value()->conditions;
    const int64_t position = records.empty() ? 0 : records.back().order + 1;
    auto inserted = rule_store::InsertCondition(connection, user_id, rule_id,
                                                rule.conditions.back(), position, now_ms);
    if (!inserted.ok()) return inserted.status();
    condition_id = inserted.value();
    return rule_store::TouchRule(connection, user_id, rule_id, now_ms);
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetCondition(user_id, condition_id);
}

Result<ConditionResource> RuleService::GetCondition(int64_t user_id, int64_t condition_id) {
  Result<ConditionResource> found = NotFound("Rule condition", condition_id);
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto rule_id = rule_store::FindConditionRule(connection, user_id, condition_id);
    if (!rule_id.ok()) return rule_id.status();
    if (!rule_id.value()) return Status::Ok();
    auto stored = LoadExisting(connection, user_id, *rule_id.value());
    if (!stored.ok()) return stored.status();
    std::optional<size_t> index = IndexOf(stored.value().rule.conditions, condition_id);
    if (!index) return Status::Ok();
    found = ConditionResource{stored.value().rule.conditions[*index], *rule_id.value(),
                              stored.value().rule.type, stored.value().conditions[*index]};
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return found;
}

Result<std::vector<ConditionResource>> RuleService::ListConditions(int64_t user_id,
                                                                   std::optional<int64_t> rule_id,
                                                                   Page page) {
  std::vector<int64_t> ids;
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto listed = rule_store::ListConditionIds(connection, user_id, rule_id, page.size,
                                               (page.number - 1) * page.size);
    if (!listed.ok()) return listed.status();
    ids = std::move(listed.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  std::vector<ConditionResource> conditions;
  for (int64_t id : ids) {
    auto condition = GetCondition(user_id, id);
    if (condition.ok()) conditions.push_back(std::move(condition.value()));
  }
  return conditions;
}

Result<ConditionResource> RuleService::UpdateCondition(int64_t user_id, int64_t condition_id,
                                                       const ConditionPatch& patch) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto rule_id = rule_store::FindConditionRule(connection, user_id, condition_id);
    if (!rule_id.ok()) return rule_id.status();
    if (!rule_id.value()) return NotFound("Rule condition", condition_id);
    auto stored = LoadExisting(connection, user_id, *rule_id.value());
    if (!stored.ok()) return stored.status();
    Rule rule = stored.value().rule;
    std::optional<size_t> index = IndexOf(rule.conditions, condition_id);
    if (!index) return NotFound("Rule condition", condition_id);
    ApplyPatch(patch, rule.conditions[*index]);
    Status valid = ValidateChanged(rule, "conditions", *index, limits_);
    if (!valid.ok()) return valid;
    valid = rule_store::UpdateCondition(connection, user_id, rule.conditions[*index], now_ms);
    if (!valid.ok()) return valid;
    return rule_store::TouchRule(connection, user_id, rule.id, now_ms);
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetCondition(user_id, condition_id);
}

Status RuleService::DeleteCondition(int64_t user_id, int64_t condition_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto rule_id = rule_store::FindConditionRule(connection, user_id, condition_id);
    if (!rule_id.ok()) return rule_id.status();
    if (!rule_id.value()) return NotFound("Rule condition", condition_id);
    auto stored = LoadExisting(connection, user_id, *rule_id.value());
    if (!stored.ok()) return stored.status();
    Rule rule = stored.value().rule;
    std::optional<size_t> index = IndexOf(rule.conditions, condition_id);
    if (!index) return NotFound("Rule condition", condition_id);
    rule.conditions.erase(rule.conditions.begin() + static_cast<ptrdiff_t>(*index));
    // Removing a condition can make the rest invalid (a pinned currency limits amounts).
    Status valid = ValidateChanged(rule, "conditions", rule.conditions.size(), limits_);
    if (!valid.ok()) return valid;
    valid = rule_store::DeleteCondition(connection, user_id, condition_id);
    if (!valid.ok()) return valid;
    return rule_store::TouchRule(connection, user_id, rule.id, now_ms);
  });
  if (status.ok()) Invalidate();
  return status;
}

Result<ActionResource> RuleService::CreateAction(int64_t user_id, int64_t rule_id,
                                                 const ActionPatch& fields) {
  const int64_t now_ms = clock_.NowMilliseconds();
  int64_t action_id = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = rule_store::LoadRule(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    if (!stored.value()) return NoSuchRuleField(rule_id);
    Rule rule = stored.value()->rule;
    const std::vector<ItemRecord>& records = stored.value()->actions;
    int64_t order = records.empty() ? 0 : records.back().order + 1;
    rule.actions.emplace_back();
    ApplyPatch(fields, rule.actions.back(), order);
    Status valid = ValidateChanged(rule, "actions", rule.actions.size() - 1, limits_);
    if (!valid.ok()) return valid;
    auto inserted =
        rule_store::InsertAction(connection, user_id, rule_id, rule.actions.back(), order, now_ms);
    if (!inserted.ok()) return inserted.status();
    action_id = inserted.value();
    return rule_store::TouchRule(connection, user_id, rule_id, now_ms);
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetAction(user_id, action_id);
}

Result<ActionResource> RuleService::GetAction(int64_t user_id, int64_t action_id) {
  Result<ActionResource> found = NotFound("Rule action", action_id);
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto rule_id = rule_store::FindActionRule(connection, user_id, action_id);
    if (!rule_id.ok()) return rule_id.status();
    if (!rule_id.value()) return Status::Ok();
    auto stored = LoadExisting(connection, user_id, *rule_id.value());
    if (!stored.ok()) return stored.status();
    std::optional<size_t> index = IndexOf(stored.value().rule.actions, action_id);
    if (!index) return Status::Ok();
    found = ActionResource{stored.value().rule.actions[*index], *rule_id.value(),
                           stored.value().rule.type, stored.value().actions[*index]};
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return found;
}

Result<std::vector<ActionResource>> RuleService::ListActions(int64_t user_id,
                                                             std::optional<int64_t> rule_id,
                                                             Page page) {
  std::vector<int64_t> ids;
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto listed = rule_store::ListActionIds(connection, user_id, rule_id, page.size,
                                            (page.number - 1) * page.size);
    if (!listed.ok()) return listed.status();
    ids = std::move(listed.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  std::vector<ActionResource> actions;
  for (int64_t id : ids) {
    auto action = GetAction(user_id, id);
    if (action.ok()) actions.push_back(std::move(action.value()));
  }
  return actions;
}

Result<ActionResource> RuleService::UpdateAction(int64_t user_id, int64_t action_id,
                                                 const ActionPatch& patch) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto rule_id = rule_store::FindActionRule(connection, user_id, action_id);
    if (!rule_id.ok()) return rule_id.status();
    if (!rule_id.value()) return NotFound("Rule action", action_id);
    auto stored = LoadExisting(connection, user_id, *rule_id.value());
    if (!stored.ok()) return stored.status();
    Rule rule = stored.value().rule;
    std::optional<size_t> index = IndexOf(rule.actions, action_id);
    if (!index) return NotFound("Rule action", action_id);
    int64_t order = stored.value().actions[*index].order;
    ApplyPatch(patch, rule.actions[*index], order);
    Status valid = ValidateChanged(rule, "actions", *index, limits_);
    if (!valid.ok()) return valid;
    valid = rule_store::UpdateAction(connection, user_id, rule.actions[*index], order, now_ms);
    if (!valid.ok()) return valid;
    return rule_store::TouchRule(connection, user_id, rule.id, now_ms);
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetAction(user_id, action_id);
}

Status RuleService::DeleteAction(int64_t user_id, int64_t action_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto rule_id = rule_store::FindActionRule(connection, user_id, action_id);
    if (!rule_id.ok()) return rule_id.status();
    if (!rule_id.value()) return NotFound("Rule action", action_id);
    auto stored = LoadExisting(connection, user_id, *rule_id.value());
    if (!stored.ok()) return stored.status();
    Rule rule = stored.value().rule;
    std::optional<size_t> index = IndexOf(rule.actions, action_id);
    if (!index) return NotFound("Rule action", action_id);
    rule.actions.erase(rule.actions.begin() + static_cast<ptrdiff_t>(*index));
    // A rule needs at least one action: deleting the last one is refused.
    Status valid = ValidateChanged(rule, "actions", rule.actions.size(), limits_);
    if (!valid.ok()) return valid;
    valid = rule_store::DeleteAction(connection, user_id, action_id);
    if (!valid.ok()) return valid;
    return rule_store::TouchRule(connection, user_id, rule.id, now_ms);
  });
  if (status.ok()) Invalidate();
  return status;
}

// Attachments.

namespace {

Error TargetNotFound(TargetKind kind, int64_t target_id, const std::string& message) {
  std::string noun = TargetNoun(kind);
  noun[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(noun[0])));
  return Error::Of(ErrorCode::kNotFound,
                   noun + " " + std::to_string(target_id) + " was not found: " + message + ".");
}

// The rule exists, fits the target and the target exists; else the error to answer.
Status CheckAttachable(Connection& connection, int64_t user_id, TargetKind kind, int64_t target_id,
                       const StoredRule& stored) {
  auto check = CheckTarget(connection, user_id, stored.rule.type, kind, target_id);
  if (!check.ok()) return check.status();
  switch (check.value().problem) {
    case TargetProblem::kNone:
      return Status::Ok();
    case TargetProblem::kWrongType:
      return Invalid({{"rule_id", check.value().message}});
    case TargetProblem::kMissing:
      return TargetNotFound(kind, target_id, check.value().message);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<int64_t>> RuleService::Attach(int64_t user_id, TargetKind kind,
                                                 int64_t target_id, int64_t rule_id,
                                                 std::optional<int64_t> order) {
  const int64_t now_ms = clock_.NowMilliseconds();
  std::vector<int64_t> ids;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = LoadExisting(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    Status attachable = CheckAttachable(connection, user_id, kind, target_id, stored.value());
    if (!attachable.ok()) return attachable;
    auto placed = PlaceRule(connection, user_id, kind, target_id, rule_id, order, limits_, now_ms);
    if (!placed.ok()) return placed.status();
    ids = std::move(placed.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return ids;
}

Result<std::vector<int64_t>> RuleService::Detach(int64_t user_id, TargetKind kind,
                                                 int64_t target_id, int64_t rule_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  std::vector<int64_t> ids;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = LoadExisting(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    Status attachable = CheckAttachable(connection, user_id, kind, target_id, stored.value());
    if (!attachable.ok() && attachable.error().code == ErrorCode::kNotFound) return attachable;
    auto before = rule_store::TargetRuleIds(connection, user_id, kind, target_id);
    if (!before.ok()) return before.status();
    if (std::find(before.value().begin(), before.value().end(), rule_id) == before.value().end()) {
      return Error::Of(ErrorCode::kNotFound, "Rule " + std::to_string(rule_id) +
                                                 " is not attached to " + TargetNoun(kind) + " " +
                                                 std::to_string(target_id) + ".");
    }
    auto removed = RemoveRule(connection, user_id, kind, target_id, rule_id, now_ms);
    if (!removed.ok()) return removed.status();
    ids = std::move(removed.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return ids;
}

Result<std::vector<int64_t>> RuleService::Reorder(int64_t user_id, TargetKind kind,
                                                  int64_t target_id,
                                                  const std::vector<int64_t>& rule_ids) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    bool exists = false;
    if (kind == TargetKind::kBankAccount) {
      auto account = rule_store::LoadAccount(connection, user_id, target_id);
      if (!account.ok()) return account.status();
      exists = account.value().has_value();
    }
    if (!exists) return TargetNotFound(kind, target_id, MissingTargetMessage(kind, target_id));
    auto current = rule_store::TargetRuleIds(connection, user_id, kind, target_id);
    if (!current.ok()) return current.status();
    std::vector<int64_t> expected = current.value();
    std::vector<int64_t> given = rule_ids;
    std::sort(expected.begin(), expected.end());
    std::sort(given.begin(), given.end());
    if (expected != given) {
      std::string listed;
      for (int64_t id : current.value())
        listed += (listed.empty() ? "" : ", ") + std::to_string(id);
      return Invalid(
          {{"rule_ids", "must list each rule attached to " + TargetNoun(kind) + " " +
                            std::to_string(target_id) + " exactly once: [" + listed + "]"}});
    }
    return rule_store::SetTargetRuleIds(connection, user_id, kind, target_id, rule_ids, now_ms);
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return rule_ids;
}

Result<StoredRule> RuleService::AttachToBank(int64_t user_id, int64_t rule_id,
                                             int64_t connection_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = LoadExisting(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    if (stored.value().rule.type != RuleType::kBank) {
      return Invalid(
          {{"rule_id", WrongTypeMessage(stored.value().rule.type, TargetKind::kBankAccount)}});
    }
    auto accounts = rule_store::ConnectionAccountIds(connection, user_id, connection_id);
    if (!accounts.ok()) return accounts.status();
    if (!accounts.value()) return NotFound("Bank connection", connection_id);
    for (int64_t account_id : *accounts.value()) {
      auto placed = PlaceRule(connection, user_id, TargetKind::kBankAccount, account_id, rule_id,
                              std::nullopt, limits_, now_ms);
      if (!placed.ok()) return placed.status();
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetRule(user_id, rule_id);
}

Result<StoredRule> RuleService::DetachFromBank(int64_t user_id, int64_t rule_id,
                                               int64_t connection_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto stored = LoadExisting(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    auto accounts = rule_store::ConnectionAccountIds(connection, user_id, connection_id);
    if (!accounts.ok()) return accounts.status();
    if (!accounts.value()) return NotFound("Bank connection", connection_id);
    for (int64_t account_id : *accounts.value()) {
      auto removed =
          RemoveRule(connection, user_id, TargetKind::kBankAccount, account_id, rule_id, now_ms);
      if (!removed.ok()) return removed.status();
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  Invalidate();
  return GetRule(user_id, rule_id);
}

// Rule logs and undo.

Result<std::vector<RuleLog>> RuleService::ListLogs(int64_t user_id, const RuleLogFilter& filter) {
  Result<std::vector<RuleLog>> logs = std::vector<RuleLog>();
  Status status = database_.Read([&](Connection& connection) {
    logs = rule_store::ListLogs(connection, user_id, filter);
    return logs.status();
  });
  if (!status.ok()) return status.error();
  return logs;
}

Result<RuleLog> RuleService::GetLog(int64_t user_id, int64_t log_id) {
  Result<RuleLog> found = NotFound("Rule log", log_id);
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto log = rule_store::LoadLog(connection, user_id, log_id);
    if (!log.ok()) return log.status();
    if (log.value()) found = std::move(*log.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return found;
}

namespace {

Error Refused(int64_t log_id, std::string reason) {
  return Error::Of(ErrorCode::kConflict, "Rule log " + std::to_string(log_id) +
                                             " cannot be undone: " + std::move(reason));
}

// Why the logged change cannot be undone, judged from the log alone; "" when it may be.
std::string UndoRefusal(const RuleLog& log) {
  if (log.undo_of_log_id) return "it records an undo; run the rule again instead.";
  if (log.undone_at_ms) {
    auto when = domain::Timestamp::FromUnixTimeMs(*log.undone_at_ms);
    return "it was already undone" + (when ? " at " + domain::FormatTimestamp(*when) : "") + ".";
  }
  if (!log.success) return "the action failed, so it changed nothing.";
  if (!FindTargetField(RuleType::kBank, log.field)) {
    return "only changes made by BANK rules to stored transactions can be undone.";
  }
  return "";
}

}  // namespace

Result<RuleLog> RuleService::Undo(int64_t user_id, int64_t log_id) {
  const int64_t now_ms = clock_.NowMilliseconds();
  RuleLog undo;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto found = rule_store::LoadLog(connection, user_id, log_id);
    if (!found.ok()) return found.status();
    if (!found.value()) return NotFound("Rule log", log_id);
    const RuleLog& log = *found.value();
    std::string refusal = UndoRefusal(log);
    if (!refusal.empty()) return Refused(log_id, std::move(refusal));
    auto transaction = rule_store::LoadTransaction(connection, user_id, log.bank_transaction_id);
    if (!transaction.ok()) return transaction.status();
    if (!transaction.value()) return Refused(log_id, "its transaction no longer exists.");
    RuleLogEntry entry;
    entry.rule_id = log.rule_id;
    entry.action_id = log.action_id;
    entry.field = FindTargetField(RuleType::kBank, log.field)->name;
    entry.previous_value = log.previous_value;
    entry.new_value = log.new_value;
    entry.success = true;
    Status undone = UndoBankRuleChange(entry, *transaction.value());
    if (!undone.ok()) return Refused(log_id, undone.error().detail);
    Status stored = rule_store::StoreGeneratedFields(connection, *transaction.value(), now_ms);
    if (!stored.ok()) return stored;
    undo = log;
    undo.previous_value = log.new_value;
    undo.new_value = log.previous_value;
    undo.message = "Undo of rule log " + std::to_string(log_id);
    undo.executed_at_ms = now_ms;
    undo.undone_at_ms.reset();
    undo.undo_of_log_id = log_id;
    auto inserted = rule_store::InsertLog(connection, undo);
    if (!inserted.ok()) return inserted.status();
    undo.id = inserted.value();
    return rule_store::MarkLogUndone(connection, user_id, log_id, now_ms);
  });
  if (!status.ok()) return status.error();
  return undo;
}

// Evaluation over stored transactions, and the compiled-rule cache.

Result<std::optional<AccountRecord>> RuleService::LoadAccount(int64_t user_id, int64_t account_id) {
  Result<std::optional<AccountRecord>> account = std::optional<AccountRecord>();
  Status status = database_.Read([&](Connection& connection) {
    account = rule_store::LoadAccount(connection, user_id, account_id);
    return account.status();
  });
  if (!status.ok()) return status.error();
  return account;
}

Result<SharedRuleSet> RuleService::AccountRules(int64_t user_id, int64_t account_id) {
  return TargetRules(user_id, TargetKind::kBankAccount, account_id, RuleType::kBank);
}

Result<SharedRuleSet> RuleService::TargetRules(int64_t user_id, TargetKind kind, int64_t target_id,
                                               RuleType type) {
  const auto key =
      std::make_tuple(user_id, static_cast<int>(kind), target_id, static_cast<int>(type));
  uint64_t generation = 0;
  {
    std::lock_guard lock(cache_mutex_);
    auto cached = cache_.find(key);
    if (cached != cache_.end()) return cached->second;
    generation = cache_generation_;
  }
  std::vector<Rule> rules;
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto ids = rule_store::TargetRuleIds(connection, user_id, kind, target_id);
    if (!ids.ok()) return ids.status();
    for (int64_t rule_id : ids.value()) {
      auto stored = rule_store::LoadRule(connection, user_id, rule_id);
      if (!stored.ok()) return stored.status();
      if (!stored.value() || stored.value()->rule.type != type) continue;
      // Rules were validated when saved; one the engine refuses today is left out, not run.
      Status valid = ValidateRule(stored.value()->rule);
      if (!valid.ok()) {
        spdlog::warn("rule {} is skipped: {}", rule_id, valid.error().detail);
        continue;
      }
      rules.push_back(std::move(stored.value()->rule));
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  Result<CompiledRuleSet> compiled = Compile(rules);
  if (!compiled.ok()) return compiled.error();
  SharedRuleSet shared = std::make_shared<const CompiledRuleSet>(std::move(compiled.value()));
  std::lock_guard lock(cache_mutex_);
  // A change while compiling makes this set stale: use it once, keep it out of the cache.
  if (generation == cache_generation_) cache_[key] = shared;
  return shared;
}

void RuleService::RunDestinationRules(const AccountRecord& account,
                                      std::span<const SharedRuleSet> rule_sets,
                                      std::span<const domain::BankTransaction> transactions,
                                      std::span<OutgoingTransaction> outgoing,
                                      std::vector<RuleLogEntry>& log) {
  for (const SharedRuleSet& rules : rule_sets) {
    if (!rules || rules->rules().empty()) continue;
    ApplyDestinationRules(*rules, ContextOf(account), transactions, outgoing, log);
  }
}

Result<int64_t> RuleService::RecordRuleLogs(Connection& connection, int64_t user_id,
                                            int64_t account_id,
                                            std::span<const domain::BankTransaction> transactions,
                                            std::span<const RuleLogEntry> log,
                                            const std::vector<bool>& record) {
  const int64_t now_ms = clock_.NowMilliseconds();
  int64_t written = 0;
  for (const RuleLogEntry& entry : log) {
    if (entry.transaction_index >= record.size() || !record[entry.transaction_index]) continue;
    if (!ChangedOrFailed(entry)) continue;
    auto inserted = rule_store::InsertLog(
        connection,
        LogOf(entry, user_id, account_id, transactions[entry.transaction_index].id, now_ms));
    if (!inserted.ok()) return inserted.error();
    ++written;
  }
  return written;
}

Status RuleService::ApplyBatch(Connection& connection, int64_t user_id,
                               const CompiledRuleSet& rules, const AccountRecord& account,
                               int64_t& after_id, ApplyReport& report, bool& done) {
  const int64_t now_ms = clock_.NowMilliseconds();
  auto batch = rule_store::LoadTransactions(connection, user_id, account.id, after_id, kBatchSize);
  if (!batch.ok()) return batch.status();
  std::vector<domain::BankTransaction>& transactions = batch.value();
  done = static_cast<int64_t>(transactions.size()) < kBatchSize;
  if (transactions.empty()) return Status::Ok();
  after_id = transactions.back().id;
  report.transactions_scanned += static_cast<int64_t>(transactions.size());
  std::vector<RuleLogEntry> log;
  RunBankRules(rules, ContextOf(account), transactions, log);
  std::vector<bool> changed(transactions.size(), false);
  for (const RuleLogEntry& entry : log) {
    if (!ChangedOrFailed(entry)) continue;
    const domain::BankTransaction& transaction = transactions[entry.transaction_index];
    auto inserted = rule_store::InsertLog(
        connection, LogOf(entry, user_id, account.id, transaction.id, now_ms));
    if (!inserted.ok()) return inserted.status();
    ++report.logs_written;
    if (entry.success) changed[entry.transaction_index] = true;
  }
  for (size_t index = 0; index < transactions.size(); ++index) {
    if (!changed[index]) continue;
    Status stored = rule_store::StoreGeneratedFields(connection, transactions[index], now_ms);
    if (!stored.ok()) return stored;
    ++report.transactions_changed;
  }
  return Status::Ok();
}

Result<ApplyReport> RuleService::ApplyAccountRules(int64_t user_id, int64_t account_id) {
  auto account = LoadAccount(user_id, account_id);
  if (!account.ok()) return account.error();
  if (!account.value()) return NotFound("Bank account", account_id);
  auto rules = AccountRules(user_id, account_id);
  if (!rules.ok()) return rules.error();
  ApplyReport report;
  if (rules.value()->rules().empty()) return report;
  int64_t after_id = 0;
  bool done = false;
  // Each batch commits on its own, so a long account never holds the writer for long; every
  // batch moves after_id forward, so the loop ends.
  while (!done) {
    Status status = database_.Write([&](Connection& connection) {
      return ApplyBatch(connection, user_id, *rules.value(), *account.value(), after_id, report,
                        done);
    });
    if (!status.ok()) return status.error();
  }
  return report;
}

namespace {

// Runs one rule of any type over a batch, appending the entries a preview shows.
void PreviewBatch(const CompiledRuleSet& rules, RuleType type, const AccountRecord& account,
                  std::vector<domain::BankTransaction>& transactions,
                  std::vector<RuleLogEntry>& log) {
  if (type == RuleType::kBank) {
    RunBankRules(rules, ContextOf(account), transactions, log);
    return;
  }
  std::vector<OutgoingTransaction> outgoing;
  outgoing.reserve(transactions.size());
  for (const domain::BankTransaction& transaction : transactions) {
    outgoing.push_back(MakeOutgoingTransaction(transaction, *DestinationOf(type)));
  }
  ApplyDestinationRules(rules, ContextOf(account), transactions, outgoing, log);
}

// The accounts a preview scans: the one asked for, else the rule's, else all of the user's.
Result<std::vector<AccountRecord>> PreviewAccounts(Connection& connection, int64_t user_id,
                                                   const StoredRule& stored,
                                                   std::optional<int64_t> bank_account_id) {
  std::vector<AccountRecord> accounts;
  if (bank_account_id) {
    auto account = rule_store::LoadAccount(connection, user_id, *bank_account_id);
    if (!account.ok()) return account.error();
    if (!account.value()) return NotFound("Bank account", *bank_account_id);
    accounts.push_back(std::move(*account.value()));
    return accounts;
  }
  for (const Attachment& attachment : stored.attachments) {
    if (attachment.kind != TargetKind::kBankAccount) continue;
    auto account = rule_store::LoadAccount(connection, user_id, attachment.target_id);
    if (!account.ok()) return account.error();
    if (account.value()) accounts.push_back(std::move(*account.value()));
  }
  if (!accounts.empty()) return accounts;
  return rule_store::LoadAccounts(connection, user_id);
}

}  // namespace

Result<Preview> RuleService::PreviewRule(int64_t user_id, int64_t rule_id,
                                         std::optional<int64_t> bank_account_id, int64_t limit) {
  const int64_t now_ms = clock_.NowMilliseconds();
  limit = std::clamp<int64_t>(limit, 1, kPreviewLimitMax);
  Preview preview;
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto stored = LoadExisting(connection, user_id, rule_id);
    if (!stored.ok()) return stored.status();
    Rule rule = stored.value().rule;
    rule.enabled = true;  // A preview shows what the rule would do once enabled.
    auto compiled = Compile({rule});
    if (!compiled.ok()) return compiled.status();
    auto accounts = PreviewAccounts(connection, user_id, stored.value(), bank_account_id);
    if (!accounts.ok()) return accounts.status();
    for (const AccountRecord& account : accounts.value()) {
      int64_t after_id = 0;
      while (!preview.truncated) {
        auto batch =
            rule_store::LoadTransactions(connection, user_id, account.id, after_id, kBatchSize);
        if (!batch.ok()) return batch.status();
        if (batch.value().empty()) break;
        after_id = batch.value().back().id;
        preview.transactions_scanned += static_cast<int64_t>(batch.value().size());
        std::vector<RuleLogEntry> log;
        PreviewBatch(compiled.value(), rule.type, account, batch.value(), log);
        for (const RuleLogEntry& entry : log) {
          if (!ChangedOrFailed(entry)) continue;
          if (static_cast<int64_t>(preview.changes.size()) >= limit) {
            preview.truncated = true;
            break;
          }
          const int64_t transaction_id = batch.value()[entry.transaction_index].id;
          preview.changes.push_back(LogOf(entry, user_id, account.id, transaction_id, now_ms));
        }
        if (preview.transactions_scanned >= kPreviewScanMax) preview.truncated = true;
      }
      if (preview.truncated) break;
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return preview;
}

// The ingest stage.

void BankRuleStage::Apply(const ingest::AccountConfig& account,
                          std::span<domain::BankTransaction*> changed) {
  std::vector<PendingLog> pending;
  auto rules = service_.AccountRules(account.user_id, account.bank_account_id);
  auto record = service_.LoadAccount(account.user_id, account.bank_account_id);
  if (!rules.ok() || !record.ok()) {
    // Ingest must not lose the bank's data over a rules problem: the batch is stored without
    // rules, and the failure is logged for the operator.
    spdlog::error("BANK rules of account {} not applied: {}", account.bank_account_id,
                  (!rules.ok() ? rules.error() : record.error()).detail);
  } else if (!rules.value()->rules().empty() && record.value()) {
    const AccountContext context = ContextOf(*record.value());
    std::vector<RuleLogEntry> log;
    for (domain::BankTransaction* transaction : changed) {
      log.clear();
      RunBankRules(*rules.value(), context, std::span(transaction, 1), log);
      for (RuleLogEntry& entry : log) pending.push_back({transaction, std::move(entry)});
    }
  }
  std::lock_guard lock(pending_mutex_);
  pending_[std::this_thread::get_id()] = std::move(pending);
}

Status BankRuleStage::Record(store::Connection& connection,
                             std::span<domain::BankTransaction* const> stored) {
  (void)stored;  // Each pending entry points at its transaction, whose id is now known.
  std::vector<PendingLog> pending;
  {
    std::lock_guard lock(pending_mutex_);
    auto found = pending_.find(std::this_thread::get_id());
    if (found == pending_.end()) return Status::Ok();
    pending = std::move(found->second);
    pending_.erase(found);
  }
  const int64_t now_ms = clock_.NowMilliseconds();
  for (const PendingLog& item : pending) {
    const domain::BankTransaction& transaction = *item.transaction;
    if (transaction.id == 0) continue;  // Not stored after all (already known elsewhere).
    auto inserted = rule_store::InsertLog(
        connection, LogOf(item.entry, transaction.user_id, transaction.bank_account_id,
                          transaction.id, now_ms));
    if (!inserted.ok()) return inserted.status();
  }
  return Status::Ok();
}

}  // namespace finsync::rules
