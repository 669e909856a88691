#include "webhooks/webhook_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "webhooks/retry.h"
#include "webhooks/signing.h"

namespace finsync::webhooks {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

// A receiver that answers every request with the next scripted status (the last one repeats)
// and remembers what it was sent.
class ScriptedReceiver final : public net::HttpClient {
 public:
  explicit ScriptedReceiver(std::vector<int> statuses) : statuses_(std::move(statuses)) {}
  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    size_t index = std::min(requests_.size() - 1, statuses_.size() - 1);
    return net::HttpResponse{statuses_[index], {}, "answer"};
  }
  std::vector<net::HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<int> statuses_;
  std::vector<net::HttpRequest> requests_;
};

std::string HeaderOf(const net::HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

class WebhookServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_webhooks_test_" + std::to_string(::getpid()) + "_" + test->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto database = store::Open((directory_ / "webhooks.db").string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok());
    database_ = std::move(database.value());
    queue_ = std::make_unique<jobs::JobQueue>(*database_, clock_);
    user_ =
        Insert("INSERT INTO users (email, created_at) VALUES ('a@example.com', 0) RETURNING id");
    other_user_ =
        Insert("INSERT INTO users (email, created_at) VALUES ('b@example.com', 0) RETURNING id");
    connection_ = Insert(
        "INSERT INTO bank_connections (user_id, institution_id, integrator, status, "
        "max_historical_days, access_valid_for_days, created_at, updated_at) VALUES (" +
        std::to_string(user_) + ", 'BANK', 'SANDBOX', 'LN', 90, 90, 0, 0) RETURNING id");
    for (int64_t* account : {&account_one_, &account_two_}) {
      *account = Insert(
          "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, currency, "
          "fields_for_duplicate_filtering, created_at, updated_at) VALUES (" +
          std::to_string(user_) + ", " + std::to_string(connection_) + ", 'acc" +
          std::to_string(account == &account_one_ ? 1 : 2) + "', 'EUR', '[]', 0, 0) RETURNING id");
    }
  }

  void TearDown() override {
    service_.reset();
    queue_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  int64_t Insert(const std::string& sql) {
    int64_t id = 0;
    Status status = database_->Write([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(sql, {});
      if (!rows.ok()) return rows.status();
      id = rows.value()[0].Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().detail);
    return id;
  }

  void StartService(std::vector<int> statuses) {
    receiver_ = std::make_unique<ScriptedReceiver>(std::move(statuses));
    service_ = std::make_unique<WebhookService>(
        *database_, clock_, clock_, *queue_, secret_box_, *receiver_,
        [](json::Writer& writer, const domain::BankTransaction& transaction) {
          writer.StartObject().Field("id", transaction.id).EndObject();
        },
        WebhookOptions{});
  }

  EndpointWithSecret Create(EndpointChange change) {
    if (!change.url) change.url = "https://receiver.example/hook";
    auto created = service_->CreateEndpoint(user_, change);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().detail);
    return created.ok() ? created.value() : EndpointWithSecret{};
  }

  void Publish(const events::Event& event) {
    Status status = database_->Write(
        [&](store::Connection& connection) { return service_->Publish(connection, event); });
    ASSERT_TRUE(status.ok()) << status.error().detail;
  }

  std::vector<Delivery> Deliveries(int64_t endpoint_id) {
    auto listed = service_->ListDeliveries(user_, endpoint_id, DeliveryListOptions{});
    EXPECT_TRUE(listed.ok());
    return listed.ok() ? listed.value() : std::vector<Delivery>{};
  }

  jobs::JobOutcome Run(int64_t delivery_id) {
    jobs::Job job;
    job.user_id = user_;
    job.kind = std::string(kDeliveryJob);
    job.payload = "{\"delivery_id\":" + std::to_string(delivery_id) + "}";
    return service_->RunDelivery(job);
  }

  std::filesystem::path directory_;
  ManualClock clock_{kStartMs};
  SecretBox secret_box_{SecretBox::GenerateKey()};
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<jobs::JobQueue> queue_;
  std::unique_ptr<ScriptedReceiver> receiver_;
  std::unique_ptr<WebhookService> service_;
  int64_t user_ = 0, other_user_ = 0, connection_ = 0, account_one_ = 0, account_two_ = 0;
};

TEST_F(WebhookServiceTest, PublishReachesOnlyMatchingEnabledEndpointsOfTheUser) {
  StartService({204});
  int64_t all = Create({}).endpoint.id;
  int64_t balances =
      Create({.event_types = std::vector<std::string>{"balance.updated"}}).endpoint.id;
  int64_t second_account =
      Create({.bank_account_ids = std::vector<int64_t>{account_two_}}).endpoint.id;
  int64_t disabled = Create({.enabled = false}).endpoint.id;

  Publish({user_, "balance.updated", account_one_, R"({"bank_account_id":1})"});
  Publish({user_, "transactions.created", account_two_, "{}"});
  // A connection event reaches an account filter through the connection's accounts.
  Publish({user_, "bank_connection.health_changed", std::nullopt,
           R"({"bank_connection_id":)" + std::to_string(connection_) + "}"});
  Publish({other_user_, "balance.updated", std::nullopt, "{}"});

  auto types = [&](int64_t endpoint_id) {
    std::vector<std::string> out;
    for (const auto& delivery : Deliveries(endpoint_id)) out.push_back(delivery.event_type);
    return out;
  };
  EXPECT_EQ(types(all), (std::vector<std::string>{"bank_connection.health_changed",
                                                  "transactions.created", "balance.updated"}));
  EXPECT_EQ(types(balances), std::vector<std::string>{"balance.updated"});
  EXPECT_EQ(types(second_account),
            (std::vector<std::string>{"bank_connection.health_changed", "transactions.created"}));
  EXPECT_TRUE(types(disabled).empty());
  // One durable job per delivery.
  auto jobs = queue_->List(user_, jobs::JobListOptions{.kind = std::string(kDeliveryJob)});
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs.value().size(), 6u);
}

TEST_F(WebhookServiceTest, AFailingReceiverIsRetriedOnTheScheduleThenTheDeliveryFails) {
  StartService({500});
  EndpointWithSecret endpoint = Create({});
  Publish({user_, "balance.updated", account_one_, R"({"x":1})"});
  int64_t delivery_id = Deliveries(endpoint.endpoint.id).at(0).id;
  for (size_t retry = 0; retry < kRetryDelaysMs.size(); ++retry) {
    jobs::JobOutcome outcome = Run(delivery_id);
    ASSERT_EQ(outcome.kind, jobs::JobOutcome::Kind::kRetryAfter) << retry;
    EXPECT_GE(outcome.delay_ms, kRetryDelaysMs[retry] * 85 / 100) << retry;
    EXPECT_LE(outcome.delay_ms, kRetryDelaysMs[retry] * 115 / 100) << retry;
    EXPECT_EQ(Deliveries(endpoint.endpoint.id).at(0).state, DeliveryState::kPending);
    clock_.Advance(outcome.delay_ms);
  }
  EXPECT_EQ(Run(delivery_id).kind, jobs::JobOutcome::Kind::kSucceeded);
  Delivery failed = Deliveries(endpoint.endpoint.id).at(0);
  EXPECT_EQ(failed.state, DeliveryState::kFailed);
  EXPECT_EQ(failed.attempt_count, kAttemptsMax);
  EXPECT_EQ(failed.last_status_code, 500);
  EXPECT_FALSE(failed.next_attempt_at_ms.has_value());
  // A duplicate run of a finished delivery sends nothing.
  EXPECT_EQ(Run(delivery_id).kind, jobs::JobOutcome::Kind::kSucceeded);
  auto requests = receiver_->requests();
  ASSERT_EQ(requests.size(), static_cast<size_t>(kAttemptsMax));
  std::string key = *SecretKey(endpoint.secret);
  for (const auto& request : requests) {
    EXPECT_EQ(HeaderOf(request, "webhook-id"), failed.event_id);
    EXPECT_EQ(request.body, requests[0].body);
    int64_t timestamp = std::stoll(HeaderOf(request, "webhook-timestamp"));
    EXPECT_EQ(HeaderOf(request, "webhook-signature"),
              Sign(key, failed.event_id, timestamp, request.body));
  }
  auto detail = service_->GetDelivery(user_, endpoint.endpoint.id, delivery_id);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail.value().attempts.size(), static_cast<size_t>(kAttemptsMax));
  EXPECT_EQ(detail.value().payload, requests[0].body);
}

TEST_F(WebhookServiceTest, GoneDisablesTheEndpointAndLaterEventsFailUnsent) {
  StartService({410, 204});
  EndpointWithSecret endpoint = Create({});
  Publish({user_, "balance.updated", account_one_, "{}"});
  int64_t first = Deliveries(endpoint.endpoint.id).at(0).id;
  EXPECT_EQ(Run(first).kind, jobs::JobOutcome::Kind::kSucceeded);
  auto disabled = service_->GetEndpoint(user_, endpoint.endpoint.id);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled.value().enabled);
  EXPECT_TRUE(disabled.value().disabled_reason.has_value());
  EXPECT_EQ(Deliveries(endpoint.endpoint.id).at(0).state, DeliveryState::kFailed);
  // Deliveries already queued when the endpoint was disabled fail without a request.
  Status queued = database_->Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute("UPDATE webhook_deliveries SET state = 'pending' WHERE id = ?", {first})
        .status();
  });
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(Run(first).kind, jobs::JobOutcome::Kind::kSucceeded);
  EXPECT_EQ(Deliveries(endpoint.endpoint.id).at(0).state, DeliveryState::kFailed);
  EXPECT_EQ(receiver_->requests().size(), 1u);
  auto redelivered = service_->Redeliver(user_, endpoint.endpoint.id, first);
  ASSERT_FALSE(redelivered.ok());
  EXPECT_EQ(redelivered.error().code, ErrorCode::kConflict);
}

TEST_F(WebhookServiceTest, ThePreviousSecretSignsForADayAfterARotation) {
  StartService({204});
  EndpointWithSecret endpoint = Create({});
  auto rotated = service_->RotateSecret(user_, endpoint.endpoint.id);
  ASSERT_TRUE(rotated.ok());
  ASSERT_NE(rotated.value().secret, endpoint.secret);
  auto test = service_->SendTest(user_, endpoint.endpoint.id);
  ASSERT_TRUE(test.ok());
  EXPECT_EQ(Run(test.value().id).kind, jobs::JobOutcome::Kind::kSucceeded);
  clock_.Advance(86'400'000 + 1);
  auto later = service_->SendTest(user_, endpoint.endpoint.id);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(Run(later.value().id).kind, jobs::JobOutcome::Kind::kSucceeded);

  auto requests = receiver_->requests();
  ASSERT_EQ(requests.size(), 2u);
  std::string new_key = *SecretKey(rotated.value().secret);
  std::string old_key = *SecretKey(endpoint.secret);
  auto expected = [&](const net::HttpRequest& request, bool with_old) {
    std::string id = HeaderOf(request, "webhook-id");
    int64_t timestamp = std::stoll(HeaderOf(request, "webhook-timestamp"));
    std::string header = Sign(new_key, id, timestamp, request.body);
    if (with_old) header += " " + Sign(old_key, id, timestamp, request.body);
    return header;
  };
  EXPECT_EQ(HeaderOf(requests[0], "webhook-signature"), expected(requests[0], true));
  EXPECT_EQ(HeaderOf(requests[1], "webhook-signature"), expected(requests[1], false));
}

}  // namespace
}  // namespace finsync::webhooks
