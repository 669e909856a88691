"""Delivery to YNAB as a new user sees it: a sandbox bank synced by the real server, a bank
rule, a YNAB connection to the fake YNAB (tests/fakes/fake_ynab.py, which validates every
request against YNAB's published OpenAPI document and behaves as YNAB documents: import_id
duplicates, 409s, deletes, 429s), a transfer link with its own YNAB rule, and the fake's state
as the ground truth of what arrived."""
import sqlite3
import time
import unittest

from tests.api import harness
from tests.api.test_sync import SERVER_ARGUMENTS, BankClient, BankTestCase, wait_for
from tests.fakes.fake_ynab import FakeYnab

DELIVERY_TIMEOUT_SECONDS = 90
FOUR_DAYS_SECONDS = 4 * 24 * 3600


def milliunits(amount):
    """"-12.34" (EUR) -> -12340, exactly."""
    negative = amount.startswith("-")
    whole, _, fraction = amount.lstrip("-").partition(".")
    value = int(whole) * 1000 + int((fraction + "000")[:3])
    return -value if negative else value


class YnabDeliveryTestCase(BankTestCase):
    def start(self, fake, extra=(), directory=None):
        arguments = list(SERVER_ARGUMENTS) + ["--allow-private-destinations", "--ynab-url",
                                              fake.base_url, *extra]
        server = harness.Server(arguments, directory=directory)
        self.addCleanup(server.close)
        return server

    def fake(self, **options):
        fake = FakeYnab(**options).start()
        self.addCleanup(fake.close)
        return fake

    def user(self, server, email="alice@example.com"):
        server.create_user(email)
        return server.create_token(email, "main", "read,write")["token"]

    def ynab_account(self, client, name="Checking"):
        connection = client.call("POST", "/api/v1/ynab/connections",
                                 {"access_token": "ynab-token-1"}, expect=201).body["data"]
        budgets = client.data("GET", "/api/v1/ynab/budgets")
        self.assertEqual([b["name"] for b in budgets], ["Home"])
        accounts = client.data("GET", f"/api/v1/ynab/budgets/{budgets[0]['id']}/accounts")
        account = next(a for a in accounts if a["name"] == name)
        return connection, budgets[0], account

    def link(self, client, bank_account_id, ynab_account_id, **fields):
        return client.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": bank_account_id, "destination_type": "YNAB",
            "destination_id": ynab_account_id, "transfer_start_date": "2000-01-01", **fields},
            expect=201).body["data"]

    def logs(self, client, **filters):
        rows, token = [], ""
        while True:
            query = "&".join(f"{k}={v}" for k, v in dict(filters, limit=500,
                                                          page_token=token).items())
            page = client.call("GET", f"/api/v1/transfer-logs?{query}", expect=200).body
            rows += page["data"]
            token = page["meta"]["next_page_token"]
            if not token:
                return rows

    def wait_all(self, client, link_id, count, statuses=("TRANSFERRED",)):
        def done():
            rows = self.logs(client, transfer_link_id=link_id)
            creates = [r for r in rows if r["status"] not in ("UPDATED", "UNDONE")]
            if len(creates) >= count and all(r["status"] in statuses for r in creates):
                return rows
            return None
        return wait_for(f"delivery of transfer link {link_id}", done, DELIVERY_TIMEOUT_SECONDS)

    def sent_transactions(self, fake, budget_ynab_id):
        """The fake's live transactions that finsync created (import ids "fs:...")."""
        state = fake.state()[budget_ynab_id]["transactions"]
        return [t for t in state if (t.get("import_id") or "").startswith("fs:")
                and not t["deleted"]]

    def assertNoSpecViolations(self, fake):
        self.assertEqual(fake.spec_violations, [], "a request did not match YNAB's spec")


class YnabDeliveryTest(YnabDeliveryTestCase):
    def test_new_user_flow_rules_undo(self):
        fake = self.fake()
        server = self.start(fake)
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=30)
        bank_account = accounts[0]
        # A bank rule changes the stored transactions' description.
        bank_rule = client.call("POST", "/api/v1/rules", {
            "name": "Tidy", "type": "BANK",
            "actions": [{"action_type": "SET_FIELD", "field_name": "generated.description",
                         "value": "bank: {{ generated.payee }}"}],
            "bank_accounts": [{"id": bank_account["id"], "order": 0}]}, expect=201).body["data"]
        client.call("POST", f"/api/v1/banks/accounts/{bank_account['id']}/rules/apply", {},
                    expect=200)
        transactions = client.transactions(bank_account_id=bank_account["id"])
        self.assertTrue(all(t["generated"]["description"].startswith("bank: ")
                            for t in transactions), bank_rule)
        connection, budget, ynab_account = self.ynab_account(client)
        self.assertNotIn("ynab-token-1", str(connection))

        link = self.link(client, bank_account["id"], ynab_account["id"], active=False)
        client.call("POST", "/api/v1/rules", {
            "name": "Flag and memo", "type": "YNAB",
            "conditions": [{"field_name": "amount", "operator": "LESS_THAN", "value": "0"}],
            "actions": [{"action_type": "SET_YNAB_FIELD", "field_name": "flag_color",
                         "value": "blue"},
                        {"action_type": "SET_YNAB_FIELD", "field_name": "memo",
                         "value": "{{ generated.description }} (finsync)"}],
            "transfer_links": [{"id": link["id"], "order": 0}]}, expect=201)
        requests_before = len(fake.requests_matching("POST", "/transactions"))
        client.call("PUT", f"/api/v1/transfer-links/{link['id']}", {"active": True}, expect=200)
        logs = self.wait_all(client, link["id"], len(transactions))

        sent = self.sent_transactions(fake, budget["ynab_id"])
        self.assertEqual(len(sent), len(transactions))
        by_import = {t["import_id"]: t for t in sent}
        self.assertEqual(len(by_import), len(sent), "an import id was used twice")
        by_transaction = {log["bank_transaction_id"]: log for log in logs}
        for transaction in transactions:
            log = by_transaction[transaction["id"]]
            ynab = by_import[log["import_id"]]
            self.assertEqual(ynab["id"], log["destination_transaction_id"])
            self.assertEqual(ynab["account_id"], ynab_account["ynab_id"])
            self.assertEqual(ynab["amount"], milliunits(transaction["amount"]))
            self.assertEqual(ynab["payee_name"], transaction["generated"]["payee"][:200])
            expected_cleared = "cleared" if transaction["status"] == "BOOKED" else "uncleared"
            self.assertEqual(ynab["cleared"], expected_cleared)
            if transaction["amount"].startswith("-"):
                self.assertEqual(ynab["flag_color"], "blue")
                self.assertEqual(ynab["memo"],
                                 transaction["generated"]["description"] + " (finsync)")
            else:
                self.assertIsNone(ynab["flag_color"])
                self.assertEqual(ynab["memo"], transaction["generated"]["description"])
        posts = len(fake.requests_matching("POST", "/transactions")) - requests_before
        self.assertLessEqual(posts, -(-len(transactions) // 500) + 1,
                             "transactions were not batched")
        self.assertNoSpecViolations(fake)

        # Undo deletes the YNAB transaction and logs it.
        target = logs[0]
        undo = client.call("POST", f"/api/v1/transfer-logs/{target['id']}/undo",
                           expect=200).body["data"]
        self.assertEqual(undo["status"], "UNDONE")
        remaining = {t["import_id"] for t in self.sent_transactions(fake, budget["ynab_id"])}
        self.assertNotIn(target["import_id"], remaining)
        self.assertEqual(len(remaining), len(transactions) - 1)
        self.assertEqual(len(fake.requests_matching("DELETE", "/transactions/")), 1)
        self.assertNoSpecViolations(fake)

    def test_outage_then_retry_delivers_each_exactly_once(self):
        fake = self.fake()
        server = self.start(fake)
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=15)
        transactions = client.transactions(bank_account_id=accounts[0]["id"])
        _, budget, ynab_account = self.ynab_account(client)
        fake.set_outage(10_000, 503)
        link = self.link(client, accounts[0]["id"], ynab_account["id"])
        logs = self.wait_all(client, link["id"], len(transactions), statuses=("FAILED",))
        self.assertIn("YNAB", logs[0]["message"])
        self.assertEqual(self.sent_transactions(fake, budget["ynab_id"]), [])
        fake.set_outage(0)
        client.call("POST", "/api/v1/transfer-links/retry", {}, expect=200)
        self.wait_all(client, link["id"], len(transactions))
        sent = self.sent_transactions(fake, budget["ynab_id"])
        self.assertEqual(len(sent), len(transactions))
        self.assertEqual(len({t["import_id"] for t in sent}), len(transactions))
        self.assertNoSpecViolations(fake)

    def test_pending_transaction_that_books_updates_ynab(self):
        fake = self.fake()
        server = self.start(fake)
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=10)
        checking = accounts[0]["id"]
        pending = client.transactions(bank_account_id=checking, status="PENDING")
        self.assertTrue(pending, "the sandbox checking account has pending card payments")
        transactions = client.transactions(bank_account_id=checking)
        _, budget, ynab_account = self.ynab_account(client)
        link = self.link(client, checking, ynab_account["id"])
        logs = self.wait_all(client, link["id"], len(transactions))
        pending_logs = {l["bank_transaction_id"]: l for l in logs
                        if l["bank_transaction_id"] in {p["id"] for p in pending}}
        for log in pending_logs.values():
            ynab = next(t for t in self.sent_transactions(fake, budget["ynab_id"])
                        if t["id"] == log["destination_transaction_id"])
            self.assertEqual(ynab["cleared"], "uncleared")
        server.stop()

        later = self.start(fake, ["--clock-offset-seconds", str(FOUR_DAYS_SECONDS)],
                           directory=server.directory)
        later.start()
        client = BankClient(self, later, token)
        client.trigger_scheduled_sync(checking)

        def updated():
            rows = self.logs(client, transfer_link_id=link["id"], status="UPDATED")
            return rows if len(rows) >= len(pending) else None
        updates = wait_for("the booked updates", updated, DELIVERY_TIMEOUT_SECONDS)
        booked = {t["id"]: t for t in client.transactions(bank_account_id=checking)}
        sent = {t["id"]: t for t in self.sent_transactions(fake, budget["ynab_id"])}
        for update in updates:
            ynab = sent[update["destination_transaction_id"]]
            self.assertEqual(ynab["cleared"], "cleared")
            self.assertEqual(ynab["amount"],
                             milliunits(booked[update["bank_transaction_id"]]["amount"]))
        # Booking did not create second YNAB transactions.
        self.assertEqual(len(sent), len({l["bank_transaction_id"] for l in logs}))
        self.assertNoSpecViolations(fake)

    def test_one_refused_transaction_fails_alone(self):
        """YNAB refuses a whole batch for one bad transaction (here a rule sets a category the
        budget does not have on the outgoing ones); finsync splits the batch until that
        transaction fails alone, and every other one arrives."""
        fake = self.fake()
        server = self.start(fake)
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=10)
        transactions = client.transactions(bank_account_id=accounts[0]["id"])
        outgoing = [t for t in transactions if t["amount"].startswith("-")]
        self.assertTrue(outgoing and len(outgoing) < len(transactions))
        _, budget, ynab_account = self.ynab_account(client)
        link = self.link(client, accounts[0]["id"], ynab_account["id"], active=False)
        client.call("POST", "/api/v1/rules", {
            "name": "Unknown category", "type": "YNAB",
            "conditions": [{"field_name": "amount", "operator": "LESS_THAN", "value": "0"}],
            "actions": [{"action_type": "SET_YNAB_FIELD", "field_name": "category_id",
                         "value": "00000000-0000-4000-8000-000000000000"}],
            "transfer_links": [{"id": link["id"], "order": 0}]}, expect=201)
        client.call("PUT", f"/api/v1/transfer-links/{link['id']}", {"active": True}, expect=200)

        def settled():
            rows = self.logs(client, transfer_link_id=link["id"])
            return rows if len(rows) == len(transactions) and all(
                r["status"] in ("TRANSFERRED", "FAILED") for r in rows) else None
        logs = wait_for("the split batch", settled, DELIVERY_TIMEOUT_SECONDS)
        failed = {r["bank_transaction_id"] for r in logs if r["status"] == "FAILED"}
        self.assertEqual(failed, {t["id"] for t in outgoing})
        for log in logs:
            if log["status"] == "FAILED":
                self.assertIn("category_id", log["message"])
        self.assertEqual(len(self.sent_transactions(fake, budget["ynab_id"])),
                         len(transactions) - len(outgoing))
        # The spec allows any category id: the refusals are YNAB's own, not spec violations.
        self.assertNoSpecViolations(fake)

    def test_a_withdrawn_pending_transaction_leaves_ynab(self):
        """When the bank withdraws a pending transaction (ingest deletes it once the bank's
        complete pending list no longer has it), its copy is deleted at YNAB and logged UNDONE,
        so the money is not counted twice when the real booking arrives."""
        fake = self.fake()
        server = self.start(fake)
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=10)
        checking = accounts[0]["id"]
        pending = client.transactions(bank_account_id=checking, status="PENDING")
        self.assertGreaterEqual(len(pending), 2, "the sandbox account has pending payments")
        transactions = client.transactions(bank_account_id=checking)
        _, budget, ynab_account = self.ynab_account(client)
        link = self.link(client, checking, ynab_account["id"])
        logs = self.wait_all(client, link["id"], len(transactions))
        withdrawn = pending[0]
        sent = next(l for l in logs if l["bank_transaction_id"] == withdrawn["id"])
        server.stop()
        # What ingest does when the bank's pending list no longer holds the transaction.
        database = sqlite3.connect(server.db_path)
        with database:
            database.execute("DELETE FROM bank_transactions WHERE id = ?", (withdrawn["id"],))
            database.execute(
                "INSERT INTO transaction_changes (user_id, bank_transaction_id, bank_account_id, "
                "kind, created_at) SELECT user_id, ?, id, 'removed', 0 FROM bank_accounts "
                "WHERE id = ?", (withdrawn["id"], checking))
        database.close()
        server.start()
        client = BankClient(self, server, token)
        client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry", {}, expect=200)

        def retracted():
            rows = self.logs(client, bank_transaction_id=withdrawn["id"])
            return rows if rows and rows[0]["status"] == "UNDONE" else None
        rows = wait_for("the retraction", retracted, DELIVERY_TIMEOUT_SECONDS)
        self.assertIn("withdrew", rows[0]["message"])
        self.assertEqual(rows[0]["undo_of_transfer_log_id"], sent["id"])
        self.assertTrue(client.data("GET", f"/api/v1/transfer-logs/{sent['id']}")["undone"])
        live = {t["id"] for t in self.sent_transactions(fake, budget["ynab_id"])}
        self.assertNotIn(sent["destination_transaction_id"], live)
        self.assertEqual(len(live), len(transactions) - 1)
        self.assertNoSpecViolations(fake)

    def test_link_validation(self):
        fake = self.fake()
        server = self.start(fake)
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=3)
        response = client.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": accounts[0]["id"], "destination_type": "YNAB",
            "destination_id": 12345})
        self.assertFieldError(response, "destination_id")


class YnabCrashTest(YnabDeliveryTestCase):
    def test_kill_9_during_a_large_delivery_neither_duplicates_nor_loses(self):
        fake = self.fake(rate_limit_per_hour=0)
        # Each create request takes a while, so the server is killed while deliveries run.
        original = fake.handle

        def slow(method, raw_path, headers, body_bytes):
            if method == "POST" and raw_path.endswith("/transactions"):
                time.sleep(0.4)
            return original(method, raw_path, headers, body_bytes)
        fake.handle = slow
        server = self.start(fake, ["--job-lease-ms", "2000"])
        token = self.user(server)
        server.start()
        client = BankClient(self, server, token)
        _, accounts = client.linked_connection(history_days=730)
        account = accounts[0]
        transactions = client.transactions(bank_account_id=account["id"])
        self.assertGreater(len(transactions), 1500, "a large delivery needs many transactions")
        _, budget, ynab_account = self.ynab_account(client)
        link = self.link(client, account["id"], ynab_account["id"])
        wait_for("the first batch to reach YNAB",
                 lambda: len(fake.requests_matching("POST", "/transactions")) >= 2, 60,
                 interval_seconds=0.01)
        server.kill9()
        partial = len(self.sent_transactions(fake, budget["ynab_id"]))
        self.assertLess(partial, len(transactions), "the delivery finished before the kill")

        server.start()
        client = BankClient(self, server, token)
        logs = self.wait_all(client, link["id"], len(transactions))
        sent = self.sent_transactions(fake, budget["ynab_id"])
        self.assertEqual(len(sent), len(transactions), "missing or duplicated at YNAB")
        self.assertEqual(len({t["import_id"] for t in sent}), len(transactions))
        self.assertEqual(len(logs), len(transactions), "logs are not one per transaction")
        by_import = {t["import_id"]: t["id"] for t in sent}
        for log in logs:
            self.assertEqual(by_import[log["import_id"]], log["destination_transaction_id"])
        self.assertNoSpecViolations(fake)


if __name__ == "__main__":
    unittest.main()
