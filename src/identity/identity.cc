#include "identity/identity.h"

#include "common/crypto.h"

namespace finsync::identity {

namespace {

constexpr size_t kSecretRandomLength = 40;  // 40 base62 characters: about 238 bits.
constexpr size_t kDisplayPrefixLength = 12;
constexpr int64_t kLastUsedResolutionMs = 60'000;

constexpr std::string_view kTokenColumns =
    "t.id, t.user_id, t.name, t.prefix, t.scopes, t.mode, t.created_at, t.expires_at, "
    "t.last_used_at, t.revoked_at";

AccessToken TokenFromRow(const store::Row& row, size_t first) {
  AccessToken token;
  token.id = row.Int(first + 0);
  token.user_id = row.Int(first + 1);
  token.name = row.Text(first + 2);
  token.prefix = row.Text(first + 3);
  token.scopes = ScopesFromText(row.Text(first + 4)).value_or(0);
  token.mode = row.Text(first + 5);
  token.created_at_ms = row.Int(first + 6);
  token.expires_at_ms = row.OptionalInt(first + 7);
  token.last_used_at_ms = row.OptionalInt(first + 8);
  token.revoked_at_ms = row.OptionalInt(first + 9);
  return token;
}

User UserFromRow(const store::Row& row, size_t first) {
  return User{row.Int(first), row.Text(first + 1), row.Text(first + 2), row.Int(first + 3),
              row.OptionalInt(first + 4)};
}

bool LooksLikeEmail(std::string_view email) {
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= email.size()) return false;
  if (email.find('@', at + 1) != std::string_view::npos) return false;
  for (char c : email) {
    if (static_cast<unsigned char>(c) <= ' ') return false;
  }
  return email.size() <= kEmailMax;
}

Error ValidationError(std::string field, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors.push_back({std::move(field), std::move(message)});
  return error;
}

}  // namespace

std::string_view ModeName(Mode mode) { return mode == Mode::kSandbox ? "sandbox" : "production"; }

std::optional<Mode> ParseMode(std::string_view text) {
  if (text == "sandbox") return Mode::kSandbox;
  if (text == "production") return Mode::kProduction;
  return std::nullopt;
}

std::string_view TokenPrefixFor(Mode mode) {
  return mode == Mode::kSandbox ? "fs_test_" : "fs_live_";
}

std::string ScopesToText(uint32_t scopes) {
  std::string text;
  if (scopes & kScopeRead) text = "read";
  if (scopes & kScopeWrite) text += text.empty() ? "write" : ",write";
  return text;
}

std::optional<uint32_t> ScopesFromText(std::string_view text) {
  uint32_t scopes = 0;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view part = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part == "read") {
      scopes |= kScopeRead;
    } else if (part == "write") {
      scopes |= kScopeWrite;
    } else {
      return std::nullopt;  // Unknown or empty part ("", "read,", "admin").
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return scopes;
}

Result<User> IdentityService::CreateUser(std::string_view email, std::string_view name) {
  if (!LooksLikeEmail(email)) return ValidationError("email", "must be a valid email address");
  if (name.size() > kUserNameMax) {
    return ValidationError("name", "must be at most 200 characters");
  }
  User user{0, std::string(email), std::string(name), clock_.NowMilliseconds(), std::nullopt};
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "INSERT INTO users (email, name, created_at) VALUES (?, ?, ?) RETURNING id",
        {user.email, user.name, user.created_at_ms});
    if (!rows.ok()) return rows.status();
    user.id = rows.value()[0].Int(0);
    return Status::Ok();
  });
  if (!status.ok()) {
    if (status.error().code == ErrorCode::kConflict) {
      return Error::Of(ErrorCode::kConflict, "A user with this email already exists.");
    }
    return status.error();
  }
  return user;
}

Result<User> IdentityService::FindUserByEmail(std::string_view email) {
  std::optional<User> user;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT id, email, name, created_at, retention_days FROM users WHERE email = ?",
        {std::string(email)});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) user = UserFromRow(rows.value()[0], 0);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!user) return Error::Of(ErrorCode::kNotFound, "No user has this email.");
  return *user;
}

Result<User> IdentityService::GetUser(int64_t user_id) {
  std::optional<User> user;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT id, email, name, created_at, retention_days FROM users WHERE id = ?", {user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) user = UserFromRow(rows.value()[0], 0);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!user) return Error::Of(ErrorCode::kNotFound, "The user was not found.");
  return *user;
}

std::vector<FieldError> ValidateNewToken(const NewToken& request, int64_t now_ms) {
  std::vector<FieldError> errors;
  bool blank = request.name.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) errors.push_back({"name", "is required"});
  if (request.name.size() > kTokenNameMax) {
    errors.push_back({"name", "must be at most 100 characters"});
  }
  if (request.scopes == 0 || (request.scopes & ~(kScopeRead | kScopeWrite)) != 0) {
    errors.push_back({"scopes", "must be a non-empty subset of read, write"});
  }
  if (request.expires_at_ms && *request.expires_at_ms <= now_ms) {
    errors.push_back({"expires_at", "must be in the future"});
  }
  return errors;
}

Result<User> IdentityService::UpdateUser(int64_t user_id, const UserUpdate& update) {
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  if (update.name && update.name->size() > kUserNameMax) {
    invalid.field_errors.push_back({"name", "must be at most 200 characters"});
  }
  if (update.retention_days && *update.retention_days &&
      (**update.retention_days < kRetentionDaysMin ||
       **update.retention_days > kRetentionDaysMax)) {
    invalid.field_errors.push_back({"retention_days", "must be between 7 and 36500, or null"});
  }
  if (!invalid.field_errors.empty()) return invalid;
  auto current = GetUser(user_id);
  if (!current.ok()) return current.error();
  User user = current.value();
  if (update.name) user.name = *update.name;
  if (update.retention_days) user.retention_days = *update.retention_days;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute("UPDATE users SET name = ?, retention_days = ? WHERE id = ?",
                 {user.name, store::OptionalInt(user.retention_days), user_id})
        .status();
  });
  if (!status.ok()) return status.error();
  return user;
}

Result<CreatedToken> IdentityService::CreateToken(int64_t user_id, const NewToken& request) {
  int64_t now = clock_.NowMilliseconds();
  auto field_errors = ValidateNewToken(request, now);
  if (!field_errors.empty()) {
    Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
    invalid.field_errors = std::move(field_errors);
    return invalid;
  }

  CreatedToken created;
  created.secret = std::string(TokenPrefixFor(mode_)) + crypto::RandomBase62(kSecretRandomLength);
  AccessToken& token = created.token;
  token.user_id = user_id;
  token.name = request.name;
  token.prefix = created.secret.substr(0, kDisplayPrefixLength);
  token.scopes = request.scopes;
  token.mode = std::string(ModeName(mode_));
  token.created_at_ms = now;
  token.expires_at_ms = request.expires_at_ms;
  std::string hash = crypto::Sha256Hex(created.secret);
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "INSERT INTO access_tokens (user_id, name, token_hash, prefix, scopes, mode, created_at,"
        " expires_at) SELECT id, ?, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? RETURNING id",
        {token.name, hash, token.prefix, ScopesToText(token.scopes), token.mode,
         token.created_at_ms, store::OptionalInt(token.expires_at_ms), user_id});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Error::Of(ErrorCode::kNotFound, "The user was not found.");
    token.id = rows.value()[0].Int(0);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return created;
}

Result<std::vector<AccessToken>> IdentityService::ListTokens(int64_t user_id) {
  std::vector<AccessToken> tokens;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    std::string sql = "SELECT " + std::string(kTokenColumns) +
                      " FROM access_tokens t WHERE t.user_id = ? ORDER BY t.id";
    auto rows = connection.Query(sql, {user_id});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) tokens.push_back(TokenFromRow(row, 0));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return tokens;
}

Status IdentityService::RevokeToken(int64_t user_id, int64_t token_id) {
  int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& connection) -> Status {
    auto exists = connection.Query(
        "SELECT revoked_at FROM access_tokens WHERE id = ? AND user_id = ?", {token_id, user_id});
    if (!exists.ok()) return exists.status();
    if (exists.value().empty()) {
      return Error::Of(ErrorCode::kNotFound, "The token was not found.");
    }
    // Revoking twice keeps the first revocation time.
    auto changed = connection.Execute(
        "UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND "
        "revoked_at IS NULL",
        {now, token_id, user_id});
    return changed.status();
  });
}

Result<Principal> IdentityService::Authenticate(std::string_view secret) {
  std::string_view expected_prefix = TokenPrefixFor(mode_);
  if (secret.substr(0, expected_prefix.size()) != expected_prefix) {
    std::string_view other_prefix =
        TokenPrefixFor(mode_ == Mode::kSandbox ? Mode::kProduction : Mode::kSandbox);
    if (secret.substr(0, other_prefix.size()) == other_prefix) {
      return Error::Of(ErrorCode::kUnauthenticated,
                       "This token belongs to the other environment; this server runs in " +
                           std::string(ModeName(mode_)) + " mode.");
    }
    return Error::Of(ErrorCode::kUnauthenticated, "The access token is not valid.");
  }
  std::string hash = crypto::Sha256Hex(secret);
  std::optional<Principal> principal;
  std::string stored_hash;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    std::string sql = "SELECT " + std::string(kTokenColumns) +
                      ", t.token_hash, u.id, u.email, u.name, u.created_at, u.retention_days FROM "
                      "access_tokens t"
                      " JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?";
    auto rows = connection.Query(sql, {hash});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Status::Ok();
    const store::Row& row = rows.value()[0];
    principal = Principal{UserFromRow(row, 11), TokenFromRow(row, 0)};
    stored_hash = row.Text(10);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!principal || !crypto::ConstantTimeEquals(stored_hash, hash)) {
    return Error::Of(ErrorCode::kUnauthenticated, "The access token is not valid.");
  }
  const AccessToken& token = principal->token;
  int64_t now = clock_.NowMilliseconds();
  if (token.revoked_at_ms) {
    return Error::Of(ErrorCode::kUnauthenticated, "The access token has been revoked.");
  }
  if (token.expires_at_ms && *token.expires_at_ms <= now) {
    return Error::Of(ErrorCode::kUnauthenticated, "The access token has expired.");
  }
  if (!token.last_used_at_ms || now - *token.last_used_at_ms >= kLastUsedResolutionMs) {
    int64_t token_id = token.id;
    database_.WriteDetached([token_id, now](store::Connection& connection) -> Status {
      return connection
          .Execute("UPDATE access_tokens SET last_used_at = ? WHERE id = ?", {now, token_id})
          .status();
    });
    principal->token.last_used_at_ms = now;
  }
  return *principal;
}

}  // namespace finsync::identity
