"""YNAB connections and budgets, black box: finsync against the fake YNAB server
(tests/fakes/fake_ynab.py), which validates every request finsync sends against YNAB's OpenAPI
document.

Covers: creating a connection with a good and a rejected token, the mirrored budgets, accounts,
payees, categories and transactions, refreshes that ask only for what changed
(last_knowledge_of_server), YNAB outages and rate limits reflected in the connection's health,
deleting budgets, accounts and connections, tenant isolation, and that the YNAB token never
appears in an answer or in the database.
"""

import os
import sqlite3
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))

import fake_ynab  # noqa: E402
import harness  # noqa: E402

TOKENS = {"alice": "ynab-alice-token-0001", "bob": "ynab-bob-token-0002",
          "carol": "ynab-carol-token-0003", "dave": "ynab-dave-token-0004",
          "erin": "ynab-erin-token-0005"}
YNAB_USERS = ("alice", "bob", "carol", "dave", "erin")
USERS = YNAB_USERS + ("frank",)  # Frank has no YNAB account.


def seed():
    """One YNAB user per finsync user (so tests do not share YNAB state), each with the fake's
    default budget (EUR, two accounts, payees, categories, two transactions), and Bob with a
    second budget in USD."""
    users = []
    for name in YNAB_USERS:
        budget = fake_ynab.default_seed()["users"][0]["budgets"][0]
        budget["id"] = fake_ynab.stable_uuid("budget", name)
        for account in budget["accounts"]:
            account["id"] = fake_ynab.stable_uuid("account", name, account["name"])
        for transaction in budget["transactions"]:
            transaction["account_id"] = budget["accounts"][0]["id"]
        budgets = [budget]
        if name == "bob":
            budgets.append({"id": fake_ynab.stable_uuid("budget", "bob-usd"), "name": "Travel",
                            "currency": "USD", "accounts": [
                                {"id": fake_ynab.stable_uuid("account", "bob-usd"),
                                 "name": "Card", "type": "creditCard"}]})
        users.append({"id": fake_ynab.stable_uuid("ynab-user", name), "tokens": [TOKENS[name]],
                      "budgets": budgets})
    return {"users": users}


class YnabApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = fake_ynab.FakeYnab(seed()).start()
        cls.addClassCleanup(cls.fake.close)
        cls.server = harness.Server(["--access-log", "off", "--ynab-url", cls.fake.base_url,
                                     "--allow-private-destinations"])
        cls.addClassCleanup(cls.server.close)
        cls.tokens = {}
        for name in USERS:
            cls.server.create_user(f"{name}@example.com")
            cls.tokens[name] = cls.server.create_token(f"{name}@example.com")["token"]
        cls.server.start()
        cls.bodies = []  # Every answer finsync gave, to check no YNAB token leaks.

    def tearDown(self):
        self.assertEqual(self.fake.spec_violations, [], "finsync sent requests YNAB's spec refuses")
        self.assertEqual(self.fake.response_violations, [], "the fake answered off-spec")

    @classmethod
    def tearDownClass(cls):
        for body in cls.bodies:
            for token in TOKENS.values():
                assert token not in body, "a YNAB token appeared in an answer"

    # -- helpers -------------------------------------------------------------------------------

    def call(self, user, method, path, body=None, expect=None):
        response = self.server.request(method, path, self.tokens[user], body)
        self.bodies.append(response.raw.decode("utf-8", "replace"))
        if expect is not None:
            self.assertEqual(response.status, expect, f"{method} {path}: {response.body}")
        return response

    def data(self, user, method, path, body=None, expect=200):
        return self.call(user, method, path, body, expect).body["data"]

    def connect(self, user):
        return self.data(user, "POST", "/api/v1/ynab/connections",
                         {"access_token": TOKENS[user]}, expect=201)

    def budget_named(self, connection, name):
        return next(b for b in connection["budgets"] if b["name"] == name)

    def all_pages(self, user, path):
        items = []
        url = path
        while url:
            response = self.call(user, "GET", url, expect=200).body
            items += response["data"]
            url = response["links"]["next"]
        return items

    def transactions(self, user, budget_id, query=""):
        return self.all_pages(user, f"/api/v1/ynab/budgets/{budget_id}/transactions{query}")

    # -- tests ---------------------------------------------------------------------------------

    def test_rejected_token_is_422_on_access_token(self):
        """A token YNAB answers 401 for is the caller's input error (422), never a 401."""
        response = self.call("frank", "POST", "/api/v1/ynab/connections",
                             {"access_token": "not-a-valid-token"})
        self.assertProblemStatus(response, 422)
        self.assertIn("access_token", response.body["errors"])
        self.assertIn("YNAB rejected the access token", response.body["errors"]["access_token"][0])
        self.assertTrue(self.fake.requests_matching("GET", "/v1/user"))
        for body, field in (({}, "access_token"), ({"access_token": 5}, "access_token"),
                            ({"access_token": "has space"}, "access_token"),
                            ({"access_token": TOKENS["alice"], "sync_payees": "yes"},
                             "sync_payees")):
            response = self.call("frank", "POST", "/api/v1/ynab/connections", body)
            self.assertProblemStatus(response, 422)
            self.assertIn(field, response.body["errors"])
        self.assertEqual(self.data("frank", "GET", "/api/v1/ynab/connections"), [])

    def assertProblemStatus(self, response, status):
        self.assertEqual(response.status, status, response.body)
        self.assertTrue(response.headers["content-type"].startswith("application/problem+json"))

    def test_connection_mirrors_budgets_accounts_payees_categories_transactions(self):
        """Creating a connection checks the token and mirrors everything YNAB holds."""
        connection = self.connect("bob")
        self.assertEqual(connection["ynab_user_id"], fake_ynab.stable_uuid("ynab-user", "bob"))
        self.assertEqual(connection["health"]["status"], "HEALTHY")
        self.assertIsNone(connection["auth_url"])
        self.assertTrue(connection["sync_transactions"])
        harness.parse_rfc3339(connection["last_synced_at"])
        self.assertEqual(sorted(b["name"] for b in connection["budgets"]), ["Home", "Travel"])
        self.assertNotIn("access_token", connection)

        listed = self.data("bob", "GET", "/api/v1/ynab/connections")
        self.assertEqual([c["id"] for c in listed], [connection["id"]])
        self.assertEqual(self.data("bob", "GET", f"/api/v1/ynab/connections/{connection['id']}")
                         ["budgets"], connection["budgets"])
        budgets = self.data("bob", "GET",
                            f"/api/v1/ynab/budgets?connection_id={connection['id']}")
        self.assertEqual(len(budgets), 2)

        home = self.budget_named(connection, "Home")
        self.assertEqual(home["currency"], "EUR")
        self.assertEqual(home["ynab_id"], fake_ynab.stable_uuid("budget", "bob"))
        self.assertTrue(home["enabled"])
        detail = self.data("bob", "GET", f"/api/v1/ynab/budgets/{home['id']}")
        self.assertEqual(detail["connection"]["id"], connection["id"])
        accounts = {a["name"]: a for a in detail["accounts"]}
        self.assertEqual(sorted(accounts), ["Checking", "Savings"])
        # -45.12 + -950.00 EUR, as exact decimal text.
        self.assertEqual(accounts["Checking"]["balance"], "-995.12")
        self.assertEqual(accounts["Checking"]["cleared_balance"], "-995.12")
        self.assertEqual(accounts["Savings"]["balance"], "0.00")
        self.assertEqual(accounts["Savings"]["note"], "rainy day")
        self.assertEqual(accounts["Checking"]["health"]["status"], "HEALTHY")
        self.assertTrue(accounts["Checking"]["transfer_payee_id"])
        account = self.data("bob", "GET", f"/api/v1/ynab/budgets/{home['id']}/accounts/"
                            f"{accounts['Checking']['id']}")
        self.assertEqual(account, accounts["Checking"])

        payees = self.all_pages("bob", f"/api/v1/ynab/budgets/{home['id']}/payees?limit=2")
        names = sorted(p["name"] for p in payees)
        self.assertEqual(names, ["Grocer", "Landlord", "Transfer : Checking",
                                 "Transfer : Savings"])
        self.assertEqual(len({p["id"] for p in payees}), 4)
        categories = self.all_pages("bob", f"/api/v1/ynab/budgets/{home['id']}/categories")
        rent = next(c for c in categories if c["name"] == "Rent")
        self.assertEqual(rent["category_group_name"], "Bills")
        self.assertTrue(next(c for c in categories if c["name"] == "Games")["hidden"])

        transactions = self.transactions("bob", home["id"], "?limit=1")
        self.assertEqual([t["amount"] for t in transactions], ["-45.12", "-950.00"])
        self.assertEqual(transactions[0]["amount_milliunits"], -45120)
        self.assertEqual(transactions[0]["account_id"], accounts["Checking"]["id"])
        self.assertEqual(transactions[0]["payee_name"], "Grocer")
        self.assertEqual(transactions[1]["category_name"], "Rent")
        self.assertEqual(transactions[1]["cleared"], "reconciled")

        travel = self.budget_named(connection, "Travel")
        card = self.data("bob", "GET", f"/api/v1/ynab/budgets/{travel['id']}/accounts")
        self.assertEqual([(a["name"], a["type"], a["currency"], a["balance"]) for a in card],
                         [("Card", "creditCard", "USD", "0.00")])

        again = self.call("bob", "POST", "/api/v1/ynab/connections",
                          {"access_token": TOKENS["bob"]})
        self.assertProblemStatus(again, 409)

    def test_refresh_asks_only_for_changes(self):
        """A refresh sends last_knowledge_of_server and applies what changed in YNAB."""
        connection = self.connect("carol")
        home = self.budget_named(connection, "Home")
        ynab_budget = home["ynab_id"]
        checking = fake_ynab.stable_uuid("account", "carol", "Checking")
        added = self.fake.add_transaction(ynab_budget, account_id=checking,
                                          date=fake_ynab.datetime.date.today().isoformat(),
                                          amount=-12340, payee_name="Bakery", memo="bread")
        old = self.transactions("carol", home["id"])[-1]
        self.fake.budget(ynab_budget).delete_transaction(
            self.fake.budget(ynab_budget).transactions[old["ynab_id"]])
        before = len(self.fake.requests_matching("GET", "/transactions"))

        refreshed = self.data("carol", "POST",
                              f"/api/v1/ynab/connections/{connection['id']}/sync")
        self.assertEqual(refreshed["health"]["status"], "HEALTHY")
        requests = self.fake.requests_matching("GET", f"/v1/budgets/{ynab_budget}/transactions")
        self.assertEqual(len(self.fake.requests_matching("GET", "/transactions")), before + 1)
        query = urllib.parse.parse_qs(requests[-1]["query"])
        self.assertIn("last_knowledge_of_server", query)
        self.assertNotIn("last_knowledge_of_server",
                         urllib.parse.parse_qs(requests[0]["query"]))
        for kind in ("accounts", "payees", "categories"):
            last = self.fake.requests_matching("GET", f"/v1/budgets/{ynab_budget}/{kind}")[-1]
            self.assertIn("last_knowledge_of_server", last["query"], kind)

        transactions = self.transactions("carol", home["id"])
        by_ynab_id = {t["ynab_id"]: t for t in transactions}
        self.assertIn(added["id"], by_ynab_id)
        self.assertEqual(by_ynab_id[added["id"]]["amount"], "-12.34")
        self.assertEqual(by_ynab_id[added["id"]]["memo"], "bread")
        self.assertNotIn(old["ynab_id"], by_ynab_id)
        with_deleted = self.transactions("carol", home["id"], "?include_deleted=true")
        self.assertTrue(next(t for t in with_deleted if t["ynab_id"] == old["ynab_id"])
                        ["deleted"])
        payees = self.all_pages("carol", f"/api/v1/ynab/budgets/{home['id']}/payees")
        self.assertIn("Bakery", [p["name"] for p in payees])
        accounts = self.data("carol", "GET", f"/api/v1/ynab/budgets/{home['id']}/accounts")
        checking_row = next(a for a in accounts if a["name"] == "Checking")
        self.assertEqual(checking_row["balance"], "-57.46")  # -45.12 - 12.34; rent deleted.

        filtered = self.transactions(
            "carol", home["id"], f"?account_id={checking_row['id']}&since_date=2000-01-01")
        self.assertEqual(sorted(t["amount"] for t in filtered), ["-12.34", "-45.12"])
        self.assertProblemStatus(self.call("carol", "GET", f"/api/v1/ynab/budgets/{home['id']}"
                                           "/transactions?since_date=yesterday"), 422)
        self.assertProblemStatus(self.call("carol", "GET", f"/api/v1/ynab/budgets/{home['id']}"
                                           "/transactions?page_token=zz"), 422)
        self.assertProblemStatus(self.call("carol", "GET", f"/api/v1/ynab/budgets/{home['id']}"
                                           "/payees?limit=0"), 422)

    def test_outage_and_rate_limit_show_in_health(self):
        """YNAB failing makes the connection FAILING (503 to the caller), a later success
        HEALTHY again; YNAB's own 429 reaches the caller as 429 with Retry-After."""
        connection = self.connect("dave")
        path = f"/api/v1/ynab/connections/{connection['id']}"
        self.fake.set_outage(1)
        response = self.call("dave", "POST", f"{path}/sync")
        self.assertProblemStatus(response, 503)
        self.assertIn("YNAB answered 503", response.body["detail"])
        failing = self.data("dave", "GET", path)
        self.assertEqual(failing["health"]["status"], "FAILING")
        self.assertEqual(failing["health"]["failure_count"], 1)
        self.assertIn("YNAB answered 503", failing["health"]["integrator_message"])
        healthy = self.data("dave", "POST", f"{path}/sync")
        self.assertEqual(healthy["health"]["status"], "HEALTHY")
        self.assertEqual(healthy["health"]["failure_count"], 0)

        limit = self.fake.rate_limit_per_hour
        self.fake.rate_limit_per_hour = len(self.fake.sent[
            fake_ynab.hashlib.sha256(TOKENS["dave"].encode()).hexdigest()])
        try:
            limited = self.call("dave", "POST", f"{path}/sync")
        finally:
            self.fake.rate_limit_per_hour = limit
        self.assertProblemStatus(limited, 429)
        self.assertEqual(limited.headers["retry-after"], "300")
        self.assertEqual(self.data("dave", "GET", path)["health"]["status"], "HEALTHY")

    def test_delete_budget_account_and_connection(self):
        """Deleted budgets and accounts stay gone across refreshes; deleting the connection
        removes everything under it."""
        connection = self.connect("erin")
        home = self.budget_named(connection, "Home")
        accounts = self.data("erin", "GET", f"/api/v1/ynab/budgets/{home['id']}/accounts")
        savings = next(a for a in accounts if a["name"] == "Savings")
        checking = next(a for a in accounts if a["name"] == "Checking")
        account_path = f"/api/v1/ynab/budgets/{home['id']}/accounts/{checking['id']}"
        self.call("erin", "DELETE", account_path, expect=204)
        self.call("erin", "GET", account_path, expect=404)
        self.call("erin", "DELETE", account_path, expect=404)
        self.assertEqual(self.transactions("erin", home["id"]), [])
        self.data("erin", "POST", f"/api/v1/ynab/connections/{connection['id']}/sync")
        self.assertEqual([a["id"] for a in self.data(
            "erin", "GET", f"/api/v1/ynab/budgets/{home['id']}/accounts")], [savings["id"]])
        self.assertEqual(self.transactions("erin", home["id"]), [])

        disabled = self.data("erin", "PUT", f"/api/v1/ynab/budgets/{home['id']}",
                             {"enabled": False})
        self.assertFalse(disabled["enabled"])
        self.assertProblemStatus(self.call("erin", "PUT", f"/api/v1/ynab/budgets/{home['id']}",
                                           {"enabled": "no"}), 422)
        before = len(self.fake.requests_matching("GET", home["ynab_id"]))
        self.data("erin", "POST", f"/api/v1/ynab/connections/{connection['id']}/sync")
        self.assertEqual(len(self.fake.requests_matching("GET", home["ynab_id"])), before)
        self.data("erin", "PUT", f"/api/v1/ynab/budgets/{home['id']}", {"enabled": True})

        self.call("erin", "DELETE", f"/api/v1/ynab/budgets/{home['id']}", expect=204)
        self.call("erin", "GET", f"/api/v1/ynab/budgets/{home['id']}", expect=404)
        self.call("erin", "GET", f"/api/v1/ynab/budgets/{home['id']}/payees", expect=404)
        self.data("erin", "POST", f"/api/v1/ynab/connections/{connection['id']}/sync")
        self.assertEqual(self.data("erin", "GET", "/api/v1/ynab/budgets"), [])
        self.assertEqual(self.data("erin", "GET",
                                   f"/api/v1/ynab/connections/{connection['id']}")["budgets"],
                         [])

        self.call("erin", "DELETE", f"/api/v1/ynab/connections/{connection['id']}", expect=204)
        self.call("erin", "GET", f"/api/v1/ynab/connections/{connection['id']}", expect=404)
        self.assertEqual(self.data("erin", "GET", "/api/v1/ynab/connections"), [])
        database = sqlite3.connect(f"file:{self.server.db_path}?mode=ro", uri=True)
        try:
            for table in ("ynab_budgets", "ynab_budget_accounts", "ynab_payees",
                          "ynab_transactions"):
                count = database.execute(
                    f"SELECT COUNT(*) FROM {table} t JOIN users u ON u.id = t.user_id "
                    "WHERE u.email = 'erin@example.com'").fetchone()[0]
                self.assertEqual(count, 0, table)
            jobs = database.execute(
                "SELECT state FROM jobs WHERE dedupe_key = ?",
                (f"ynab:connection:{connection['id']}",)).fetchall()
            self.assertEqual(jobs, [("cancelled",)])
        finally:
            database.close()

    def test_other_users_objects_are_not_found(self):
        """Alice's connection, budgets and accounts answer 404 to Bob, like missing ones."""
        connection = self.connect("alice")
        home = self.budget_named(connection, "Home")
        account = self.data("alice", "GET", f"/api/v1/ynab/budgets/{home['id']}/accounts")[0]
        for method, path in (
                ("GET", f"/api/v1/ynab/connections/{connection['id']}"),
                ("DELETE", f"/api/v1/ynab/connections/{connection['id']}"),
                ("POST", f"/api/v1/ynab/connections/{connection['id']}/sync"),
                ("GET", f"/api/v1/ynab/budgets/{home['id']}"),
                ("PUT", f"/api/v1/ynab/budgets/{home['id']}"),
                ("DELETE", f"/api/v1/ynab/budgets/{home['id']}"),
                ("GET", f"/api/v1/ynab/budgets/{home['id']}/accounts"),
                ("GET", f"/api/v1/ynab/budgets/{home['id']}/accounts/{account['id']}"),
                ("DELETE", f"/api/v1/ynab/budgets/{home['id']}/accounts/{account['id']}"),
                ("GET", f"/api/v1/ynab/budgets/{home['id']}/payees"),
                ("GET", f"/api/v1/ynab/budgets/{home['id']}/categories"),
                ("GET", f"/api/v1/ynab/budgets/{home['id']}/transactions"),
                ("GET", "/api/v1/ynab/connections/999999"),
                ("GET", "/api/v1/ynab/budgets/abc")):
            body = {"enabled": False} if method == "PUT" else None
            response = self.call("bob", method, path, body)
            self.assertProblemStatus(response, 404)
        self.assertNotIn(connection["id"],
                         [c["id"] for c in self.data("bob", "GET", "/api/v1/ynab/connections")])
        self.assertNotIn(home["id"], [b["id"] for b in self.data(
            "bob", "GET", f"/api/v1/ynab/budgets?connection_id={connection['id']}")])
        self.assertEqual(self.data("alice", "GET", f"/api/v1/ynab/budgets/{home['id']}")["id"],
                         home["id"])

    def test_token_is_stored_sealed(self):
        """The database holds only ciphertext; the key file is created with mode 0600."""
        if not self.data("alice", "GET", "/api/v1/ynab/connections"):
            self.connect("alice")
        database = sqlite3.connect(f"file:{self.server.db_path}?mode=ro", uri=True)
        database.text_factory = bytes  # The sealed bytes are not text.
        try:
            stored = [row[0] for row in database.execute(
                "SELECT token_ciphertext FROM ynab_connections")]
        finally:
            database.close()
        self.assertTrue(stored)
        for value in stored:
            self.assertTrue(value.startswith(b"v1"))  # SecretBox's sealed form.
            for token in TOKENS.values():
                self.assertNotIn(token.encode(), value)
        mode = os.stat(self.server.db_path + ".key").st_mode & 0o777
        self.assertEqual(mode, 0o600)


class FakeYnabTest(unittest.TestCase):
    """The fake itself behaves as YNAB documents (so the tests above can trust it)."""

    def setUp(self):
        self.fake = fake_ynab.FakeYnab().start()
        self.addCleanup(self.fake.close)
        budget = next(iter(self.fake.budgets.values()))
        self.budget_id = budget.id
        self.account_id = next(iter(budget.accounts))

    def call(self, method, path, body=None, token="ynab-token-1"):
        return harness.request(method, "/v1" + path, token, body, port=self.fake.port)

    def test_errors_in_ynab_shape(self):
        self.assertEqual(self.call("GET", "/user", token="nope").body,
                         {"error": {"id": "401", "name": "not_authorized",
                                    "detail": "Unauthorized"}})
        self.assertEqual(self.call("GET", "/budgets/unknown/accounts").status, 404)
        bad = self.call("POST", f"/budgets/{self.budget_id}/transactions",
                        {"transactions": [{"account_id": self.account_id, "date": "2025-01-01",
                                           "amount": 1.5, "memo": "m" * 501,
                                           "cleared": "pending"}]})
        self.assertEqual(bad.status, 400)
        self.assertEqual(bad.body["error"]["name"], "bad_request")
        self.assertEqual(len(self.fake.spec_violations), 1)
        self.assertEqual(self.call("POST", f"/budgets/{self.budget_id}/transactions", {
            "transactions": [{"account_id": self.account_id, "date": "2999-01-01",
                              "amount": 1}]}).status, 400)
        self.fake.set_outage(1)
        self.assertEqual(self.call("GET", "/user").status, 503)
        self.assertEqual(self.call("GET", "/user").status, 200)

    def test_import_id_duplicates_and_409(self):
        recent = (fake_ynab.datetime.date.today() - fake_ynab.datetime.timedelta(days=5))
        entry = {"account_id": self.account_id, "date": recent.isoformat(), "amount": -1000,
                 "import_id": "imp-1", "payee_name": "New Shop"}
        created = self.call("POST", f"/budgets/{self.budget_id}/transactions",
                            {"transactions": [entry, dict(entry)]})
        self.assertEqual(created.status, 201)
        self.assertEqual(created.body["data"]["duplicate_import_ids"], ["imp-1"])
        self.assertEqual(len(created.body["data"]["transactions"]), 1)
        single = self.call("POST", f"/budgets/{self.budget_id}/transactions",
                           {"transaction": entry})
        self.assertEqual(single.status, 409)
        knowledge = created.body["data"]["server_knowledge"]
        transaction_id = created.body["data"]["transaction_ids"][0]
        patched = self.call("PATCH", f"/budgets/{self.budget_id}/transactions",
                            {"transactions": [{"id": transaction_id, "memo": "x",
                                               "flag_color": "red"}]})
        self.assertEqual(patched.status, 209)
        delta = self.call("GET", f"/budgets/{self.budget_id}/transactions"
                          f"?last_knowledge_of_server={knowledge}")
        self.assertEqual([t["memo"] for t in delta.body["data"]["transactions"]], ["x"])
        deleted = self.call("DELETE", f"/budgets/{self.budget_id}/transactions/{transaction_id}")
        self.assertTrue(deleted.body["data"]["transaction"]["deleted"])
        self.assertEqual(self.fake.spec_violations, [])
        self.assertEqual(self.fake.response_violations, [])

    def test_rate_limit(self):
        self.fake.rate_limit_per_hour = 2
        self.assertEqual(self.call("GET", "/user").status, 200)
        self.assertEqual(self.call("GET", "/user").status, 200)
        limited = self.call("GET", "/user")
        self.assertEqual(limited.status, 429)
        self.assertEqual(limited.body["error"]["id"], "429")
        self.assertEqual(limited.body["error"]["name"], "too_many_requests")


if __name__ == "__main__":
    unittest.main()
