"""Lunch Money connections, black box: the real finsync binary talks to a stateful fake of
Lunch Money's v1 API (tests/fakes/fake_lunchmoney.py) on 127.0.0.1.

Proves: a good token connects (user, budget, currency and assets imported; the token is sent
to Lunch Money as a Bearer header and never appears in any answer, nor in plaintext in the
database); a token Lunch Money rejects is a 422 on access_token quoting Lunch Money; Lunch
Money being down or rate-limited is a 503 / 429 and stores nothing; assets are listed and
filtered; a refresh picks up changes and removals and drives the health (FAILING, HEALTHY,
DEAD on a revoked token -> 409); delete cascades; another user's objects are 404 everywhere.

A second class checks that the fake itself behaves as Lunch Money's documentation says, so the
first class tests finsync against the real rules.
"""

import json
import os
import sqlite3
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))

import harness  # noqa: E402
from fake_lunchmoney import FakeLunchMoney  # noqa: E402

ALICE_LM_TOKEN = "lm-alice-4f1c2b7e9d0a83c6"
BOB_LM_TOKEN = "lm-bob-77aa0c1e5f2b9d34"
CONNECTIONS = "/api/v1/lunch-money/connections"
ASSETS = "/api/v1/lunch-money/assets"


def seed(fake):
    fake.add_account(ALICE_LM_TOKEN, user_name="Alice Example", budget_name="Household",
                     primary_currency="eur", assets=[
                         {"name": "Checking", "currency": "eur", "balance": "1201.01"},
                         {"name": "Travel card", "currency": "usd", "balance": "-20.5",
                          "type_name": "credit", "subtype_name": "credit card",
                          "display_name": "Card"}])
    fake.add_account(BOB_LM_TOKEN, user_name="Bob", budget_name="Bob's budget",
                     primary_currency="usd",
                     assets=[{"name": "Wallet", "currency": "usd", "balance": "5"}])


class LunchMoneyConnectionsTest(unittest.TestCase):
    """One fake Lunch Money, one finsync server and two users shared by the tests; every test
    makes (and deletes) its own connections and restores the fake."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLunchMoney().start()
        cls.addClassCleanup(cls.fake.stop)
        seed(cls.fake)
        cls.server = harness.Server(("--access-log", "off", "--allow-private-destinations",
                                     "--lunch-money-url", cls.fake.url))
        cls.addClassCleanup(cls.server.close)
        cls.server.create_user("alice@example.com", "Alice")
        cls.server.create_user("bob@example.com", "Bob")
        cls.alice = cls.server.create_token("alice@example.com")["token"]
        cls.bob = cls.server.create_token("bob@example.com")["token"]
        cls.server.start()
        cls.raw_answers = []

    def setUp(self):
        self.fake.reset()
        seed(self.fake)

    def call(self, method, path, token, body=None, expected=None):
        response = self.server.request(method, path, token, body)
        type(self).raw_answers.append(response.raw)
        if expected is not None:
            self.assertEqual(response.status, expected, f"{method} {path}: {response.body!r}")
        return response

    def connect(self, token=None, lunch_money_token=ALICE_LM_TOKEN):
        token = token or self.alice
        response = self.call("POST", CONNECTIONS, token, {"access_token": lunch_money_token},
                             201)
        connection = response.body["data"]
        self.addCleanup(self.server.request, "DELETE", f"{CONNECTIONS}/{connection['id']}", token)
        return connection

    def assertFieldError(self, response, field, text):
        harness.assert_problem(self, response, 422, "validation_failed")
        messages = " ".join(response.body["errors"].get(field, []))
        self.assertIn(text, messages, response.body)

    def connection_count(self, token):
        return len(self.call("GET", CONNECTIONS, token, expected=200).body["data"])

    def test_a_good_token_connects_and_imports_the_assets(self):
        response = self.call("POST", CONNECTIONS, self.alice, {"access_token": ALICE_LM_TOKEN},
                             201)
        self.addCleanup(self.server.request, "DELETE",
                        f"{CONNECTIONS}/{response.body['data']['id']}", self.alice)
        self.assertEqual(response.body["message"], "Lunch Money connection created.")
        connection = response.body["data"]
        self.assertEqual(connection["user_name"], "Alice Example")
        self.assertEqual(connection["budget_name"], "Household")
        self.assertEqual(connection["primary_currency"], "EUR")
        self.assertIsInstance(connection["lunch_money_user_id"], int)
        self.assertEqual(connection["health"]["status"], "HEALTHY")
        self.assertEqual(connection["health"]["failure_count"], 0)
        harness.parse_rfc3339(connection["last_synced_at"])
        harness.parse_rfc3339(connection["created_at"])
        self.assertEqual(connection["assets_count"], 2)
        checking, card = connection["assets"]
        self.assertEqual((checking["name"], checking["balance"], checking["currency"]),
                         ("Checking", "1201.01", "EUR"))
        self.assertEqual((card["display_name"], card["balance"], card["currency"]),
                         ("Card", "-20.50", "USD"))
        self.assertEqual(card["type_name"], "credit")
        self.assertEqual(card["connection_id"], connection["id"])
        self.assertFalse(card["closed"])
        self.assertNotIn("access_token", connection)
        sent = self.fake.requests()
        self.assertEqual([(r["method"], r["path"]) for r in sent],
                         [("GET", "/v1/me"), ("GET", "/v1/assets")])
        self.assertTrue(all(r["token"] == ALICE_LM_TOKEN for r in sent))
        self.assertTrue(all("access_token" not in r["query"] for r in sent))

    def test_a_rejected_or_missing_token_is_a_422_on_access_token(self):
        before = self.connection_count(self.alice)
        rejected = self.call("POST", CONNECTIONS, self.alice, {"access_token": "lm-wrong"})
        self.assertFieldError(rejected, "access_token", "rejected by Lunch Money")
        self.assertFieldError(rejected, "access_token", "Access token does not exist.")
        self.assertFieldError(self.call("POST", CONNECTIONS, self.alice, {}), "access_token",
                              "is required")
        self.assertFieldError(self.call("POST", CONNECTIONS, self.alice, {"access_token": 7}),
                              "access_token", "string")
        self.assertFieldError(self.call("POST", CONNECTIONS, self.alice, {"access_token": " "}),
                              "access_token", "is required")
        self.assertEqual(self.connection_count(self.alice), before)

    def test_lunch_money_down_or_rate_limited_stores_nothing(self):
        before = self.connection_count(self.alice)
        self.fake.set_outage(1)
        down = self.call("POST", CONNECTIONS, self.alice, {"access_token": ALICE_LM_TOKEN})
        harness.assert_problem(self, down, 503, "unavailable")
        self.assertIn("Lunch Money", down.body["detail"])
        self.fake.set_rate_limit(1, 120)
        limited = self.call("POST", CONNECTIONS, self.alice, {"access_token": ALICE_LM_TOKEN})
        harness.assert_problem(self, limited, 429, "too_many_requests")
        self.assertIn("Lunch Money", limited.body["detail"])
        self.assertGreater(int(limited.headers["retry-after"]), 0)
        self.fake.set_rate_limit(0)
        self.assertEqual(self.connection_count(self.alice), before)

    def test_assets_are_listed_filtered_and_read(self):
        first = self.connect()
        second = self.connect()
        every = self.call("GET", ASSETS, self.alice, expected=200).body
        self.assertEqual(every["meta"]["total"], 4)
        filtered = self.call("GET", f"{ASSETS}?connection_id={second['id']}", self.alice,
                             expected=200).body["data"]
        self.assertEqual({a["connection_id"] for a in filtered}, {second["id"]})
        self.assertEqual(len(filtered), 2)
        also = self.call("GET", f"{ASSETS}?filter[connection_id]={first['id']}", self.alice,
                         expected=200).body["data"]
        self.assertEqual({a["connection_id"] for a in also}, {first["id"]})
        one = self.call("GET", f"{ASSETS}/{filtered[0]['id']}", self.alice, expected=200)
        self.assertEqual(one.body["data"], filtered[0])
        self.assertFieldError(self.call("GET", f"{ASSETS}?connection_id=abc", self.alice),
                              "connection_id", "integer")
        harness.assert_problem(self, self.call("GET", f"{ASSETS}/999999", self.alice), 404,
                               "not_found")
        harness.assert_problem(self, self.call("GET", f"{ASSETS}/x", self.alice), 404,
                               "not_found")

    def test_refresh_follows_lunch_money_and_drives_health(self):
        connection = self.connect()
        checking, card = connection["assets"]
        account_id = self.fake.tokens[ALICE_LM_TOKEN]
        self.fake.accounts[account_id]["budget_name"] = "Renamed"
        self.fake.assets[checking["lunch_money_id"]]["balance"] += 10
        self.fake.remove_asset(card["lunch_money_id"])
        self.fake.add_asset(ALICE_LM_TOKEN, name="Savings", currency="eur", balance="3")
        path = f"{CONNECTIONS}/{connection['id']}/sync"
        refreshed = self.call("POST", path, self.alice, expected=200).body
        self.assertEqual(refreshed["message"], "Lunch Money connection refreshed.")
        data = refreshed["data"]
        self.assertEqual(data["budget_name"], "Renamed")
        self.assertEqual([a["name"] for a in data["assets"]], ["Checking", "Savings"])
        self.assertEqual(data["assets"][0]["id"], checking["id"])  # The same row, updated.
        self.assertEqual(data["assets"][0]["balance"], "1211.01")
        harness.assert_problem(self, self.call("GET", f"{ASSETS}/{card['id']}", self.alice),
                               404, "not_found")

        self.fake.set_outage(1)
        down = self.call("POST", path, self.alice)
        harness.assert_problem(self, down, 503, "unavailable")
        health = self.call("GET", f"{CONNECTIONS}/{connection['id']}", self.alice,
                           expected=200).body["data"]["health"]
        self.assertEqual((health["status"], health["failure_count"]), ("FAILING", 1))
        self.assertIn("Lunch Money", health["integrator_message"])
        self.call("POST", path, self.alice, expected=200)
        health = self.call("GET", f"{CONNECTIONS}/{connection['id']}", self.alice,
                           expected=200).body["data"]["health"]
        self.assertEqual((health["status"], health["failure_count"]), ("HEALTHY", 0))

        self.fake.revoke_token(ALICE_LM_TOKEN)  # The user revoked it in Lunch Money.
        revoked = self.call("POST", path, self.alice)
        harness.assert_problem(self, revoked, 409, "conflict")
        self.assertIn("Access token does not exist.", revoked.body["detail"])
        health = self.call("GET", f"{CONNECTIONS}/{connection['id']}", self.alice,
                           expected=200).body["data"]["health"]
        self.assertEqual(health["status"], "DEAD")

    def test_delete_removes_the_connection_and_its_assets(self):
        connection = self.connect()
        kept = self.connect()
        asset_id = connection["assets"][0]["id"]
        deleted = self.call("DELETE", f"{CONNECTIONS}/{connection['id']}", self.alice, None, 204)
        self.assertEqual(deleted.raw, b"")
        harness.assert_problem(self, self.call("GET", f"{CONNECTIONS}/{connection['id']}",
                                               self.alice), 404, "not_found")
        harness.assert_problem(self, self.call("GET", f"{ASSETS}/{asset_id}", self.alice), 404,
                               "not_found")
        harness.assert_problem(self, self.call("DELETE", f"{CONNECTIONS}/{connection['id']}",
                                               self.alice), 404, "not_found")
        remaining = self.call("GET", f"{ASSETS}?connection_id={connection['id']}", self.alice,
                              expected=200).body["data"]
        self.assertEqual(remaining, [])
        self.call("GET", f"{CONNECTIONS}/{kept['id']}", self.alice, expected=200)
        stored = sqlite3.connect(f"file:{self.server.db_path}?mode=ro", uri=True, timeout=10)
        try:
            rows = stored.execute("SELECT COUNT(*) FROM lunch_money_assets WHERE "
                                  "connection_id = ?", (connection["id"],)).fetchall()
        finally:
            stored.close()
        self.assertEqual(rows[0][0], 0)

    def test_another_users_objects_are_404(self):
        connection = self.connect()
        asset_id = connection["assets"][0]["id"]
        base = f"{CONNECTIONS}/{connection['id']}"
        for method, path in (("GET", base), ("DELETE", base), ("POST", f"{base}/sync"),
                             ("GET", f"{ASSETS}/{asset_id}")):
            harness.assert_problem(self, self.call(method, path, self.bob), 404, "not_found")
        self.assertEqual(self.call("GET", CONNECTIONS, self.bob, expected=200).body["data"], [])
        self.assertEqual(self.call("GET", f"{ASSETS}?connection_id={connection['id']}",
                                   self.bob, expected=200).body["data"], [])
        self.call("GET", base, self.alice, expected=200)  # Still there for its owner.
        bob_connection = self.connect(self.bob, BOB_LM_TOKEN)
        self.assertEqual([a["name"] for a in bob_connection["assets"]], ["Wallet"])
        harness.assert_problem(self, self.call("GET", f"{CONNECTIONS}/{bob_connection['id']}",
                                               self.alice), 404, "not_found")

    def test_routes_need_a_token_and_the_write_scope(self):
        harness.assert_problem(self, self.call("GET", CONNECTIONS, None), 401, "unauthenticated")
        reader = self.server.cli("token", "create", "--user", "alice@example.com", "--name",
                                 "reader", "--scopes", "read")["token"]
        self.call("GET", CONNECTIONS, reader, expected=200)
        harness.assert_problem(self, self.call("POST", CONNECTIONS, reader,
                                               {"access_token": ALICE_LM_TOKEN}), 403,
                               "insufficient_scope")

    def test_zz_the_token_never_appears_in_answers_or_in_plaintext(self):
        # Runs last (by name): every answer the other tests received is scanned as well.
        self.connect()
        self.call("GET", CONNECTIONS, self.alice, expected=200)
        for raw in type(self).raw_answers:
            self.assertNotIn(ALICE_LM_TOKEN.encode(), raw)
            self.assertNotIn(BOB_LM_TOKEN.encode(), raw)
        for name in os.listdir(self.server.directory):
            if name.startswith("finsync.db"):
                with open(os.path.join(self.server.directory, name), "rb") as stored:
                    self.assertNotIn(ALICE_LM_TOKEN.encode(), stored.read(), name)


class FakeLunchMoneyTest(unittest.TestCase):
    """The fake answers as Lunch Money's v1 documentation says (see the fake's docstring)."""

    def setUp(self):
        self.fake = FakeLunchMoney().start()
        self.addCleanup(self.fake.stop)
        seed(self.fake)
        self.asset = self.fake.state()["assets"][0]["id"]

    def call(self, method, path, body=None, token=ALICE_LM_TOKEN):
        request = urllib.request.Request(
            self.fake.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode()
            return error.code, body, dict(error.headers)

    def insert(self, transactions, **flags):
        return self.call("POST", "/v1/transactions", {"transactions": transactions, **flags})

    def item(self, external_id, amount="-42.50", **fields):
        return {"date": "2025-03-14", "amount": amount, "currency": "eur",
                "asset_id": self.asset, "payee": "Bakery", "external_id": external_id, **fields}

    def test_unknown_token_is_401(self):
        status, body, _ = self.call("GET", "/v1/me", token="nope")
        self.assertEqual((status, body),
                         (401, {"name": "Error", "message": "Access token does not exist."}))

    def test_insert_limits_and_external_id_dedup(self):
        status, body, _ = self.insert([self.item(f"x{i}") for i in range(501)])
        self.assertEqual(status, 400)
        self.assertIn("500", body["error"][0])
        status, body, _ = self.insert([self.item("a"), self.item("a"), self.item("b")],
                                      debit_as_negative=True)
        self.assertEqual(status, 200)
        self.assertEqual(len(body["ids"]), 2)  # The second "a" is skipped silently.
        status, again, _ = self.insert([self.item("a"), self.item("c")], debit_as_negative=True)
        self.assertEqual(len(again["ids"]), 1)
        amounts = [t["amount"] for t in self.fake.transactions_of(self.asset)]
        self.assertEqual(amounts, ["-42.5000", "-42.5000", "-42.5000"])
        stored = self.call("GET", f"/v1/transactions/{body['ids'][0]}")[1]
        self.assertEqual(stored["amount"], "42.5000")  # Without debit_as_negative: expense > 0.
        self.fake.delete_transaction(body["ids"][0])  # Deleted in the app: the id is free.
        self.assertEqual(len(self.insert([self.item("a")])[1]["ids"]), 1)

    def test_insert_validation_is_all_or_nothing(self):
        status, body, _ = self.insert([
            self.item("ok"),
            {"amount": "x", "status": None},
            self.item("e" * 76, payee="p" * 141, notes="n" * 351, currency="EUR")])
        self.assertEqual(status, 400)
        self.assertEqual(body["error"][:3], [
            "Transaction 1 is missing date.", "Transaction 1 amount must be a number: x",
            "Transaction 1 status must be either cleared or uncleared: null"])
        joined = " ".join(body["error"])
        for text in ("payee must be at most 140", "notes must be at most 350",
                     "external_id must be at most 75", "currency must be a supported"):
            self.assertIn(f"Transaction 2 {text}", joined)
        self.assertEqual(self.fake.transactions_of(self.asset), [])
        self.fake.validation_error_status = 200
        status, body, _ = self.insert([{"date": "2025-02-30", "amount": 1}])
        self.assertEqual(status, 200)
        self.assertIn("date must be in ISO 8601 format", body["error"][0])

    def test_list_get_and_update(self):
        ids = self.insert([self.item("a"), self.item("b", date="2025-04-01")],
                          debit_as_negative=True)[1]["ids"]
        status, body, _ = self.call("GET", "/v1/transactions?start_date=2025-03-01")
        self.assertEqual((status, body), (400, {
            "error": "Both start_date and end_date must be specified."}))
        query = f"asset_id={self.asset}&start_date=2025-03-01&end_date=2025-03-31"
        page = self.call("GET", f"/v1/transactions?{query}&debit_as_negative=true&limit=1")[1]
        self.assertEqual([t["external_id"] for t in page["transactions"]], ["a"])
        self.assertFalse(page["has_more"])
        self.assertEqual(self.call("GET", "/v1/transactions/999")[:2],
                         (404, {"error": "Transaction ID not found."}))
        update = {"transaction": {"external_id": "b"}}
        status, body, _ = self.call("PUT", f"/v1/transactions/{ids[0]}", update)
        self.assertEqual(status, 400)
        self.assertIn("already exists", body["error"][0])
        update = {"transaction": {"amount": "0", "notes": "undone"}, "debit_as_negative": True}
        self.assertEqual(self.call("PUT", f"/v1/transactions/{ids[0]}", update)[:2],
                         (200, {"updated": True}))
        self.assertEqual(self.call("PUT", "/v1/transactions/999", update)[1], {
            "error": ["This transaction doesn't exist or you don't have access to it."]})
        self.assertEqual(self.call("DELETE", f"/v1/transactions/{ids[0]}")[0], 404)

    def test_rate_limit_and_outage(self):
        self.fake.set_rate_limit(2, 30)
        self.assertEqual(self.call("GET", "/v1/me")[0], 200)
        self.assertEqual(self.call("GET", "/v1/me")[0], 200)
        status, body, headers = self.call("GET", "/v1/me")
        self.assertEqual(status, 429)
        self.assertGreater(int(headers["Retry-After"]), 0)
        self.fake.set_rate_limit(0)
        self.fake.set_outage(2, 502)
        self.assertEqual(self.call("GET", "/v1/assets")[0], 502)
        self.assertEqual(self.call("GET", "/v1/assets")[0], 502)
        self.assertEqual(self.call("GET", "/v1/assets")[0], 200)
        log = self.fake.requests()
        self.assertEqual(log[-1]["status"], 200)
        self.assertEqual(log[-1]["token"], ALICE_LM_TOKEN)

    def test_control_api(self):
        def control(method, path, body=None):
            request = urllib.request.Request(
                self.fake.url + path, method=method,
                data=json.dumps(body).encode() if body is not None else None)
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        control("POST", "/__control/accounts", {"token": "t3", "user_name": "Carol",
                                                "assets": [{"name": "Pot", "currency": "gbp"}]})
        self.assertEqual(self.call("GET", "/v1/me", token="t3")[1]["user_name"], "Carol")
        control("POST", "/__control/outage", {"count": 1})
        self.assertEqual(self.call("GET", "/v1/me", token="t3")[0], 503)
        state = control("GET", "/__control/state")
        self.assertIn("t3", state["tokens"])
        self.assertEqual(len(control("GET", "/__control/requests")), 2)
        control("POST", "/__control/reset")
        self.assertEqual(self.call("GET", "/v1/me", token="t3")[0], 401)


if __name__ == "__main__":
    unittest.main()
