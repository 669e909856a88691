"""Delivery to Lunch Money, black box: a sandbox bank synced by the real server, a Lunch Money
connection to the fake Lunch Money (tests/fakes/fake_lunchmoney.py, which behaves as the v1
documentation says: external_id dedup per asset, debit_as_negative, field limits, no DELETE),
a transfer link into a Lunch Money asset, and the fake's state as the ground truth.

Proves: every bank transaction arrives exactly once with the exact amount (negative = money
out), the link's import id as external_id, cleared for booked ones, in batched requests; undo
neutralises the transaction (v1 cannot delete) and a retry sends it again under a new
external_id, and undoing one the user already deleted in Lunch Money succeeds; a transaction
Lunch Money refuses keeps failing while the rest are delivered; an
outage fails the transfers and a retry then delivers each exactly once; an insert whose answer
was lost is not duplicated when it is sent again.
"""
import decimal
import unittest

from tests.api import harness
from tests.api.test_sync import SERVER_ARGUMENTS, BankClient, BankTestCase, wait_for
from tests.fakes.fake_lunchmoney import FakeLunchMoney

DELIVERY_TIMEOUT_SECONDS = 90
LM_TOKEN = "lm-delivery-token-5e1f"


class LunchMoneyDeliveryTest(BankTestCase):
    def setUp(self):
        self.fake = FakeLunchMoney().start()
        self.addCleanup(self.fake.stop)
        self.fake.add_account(LM_TOKEN, primary_currency="eur", categories=[315172], assets=[
            {"name": "Everyday", "currency": "eur", "balance": "0"}])
        self.server = harness.Server(list(SERVER_ARGUMENTS) + [
            "--allow-private-destinations", "--lunch-money-url", self.fake.url])
        self.addCleanup(self.server.close)
        self.server.create_user("alice@example.com")
        token = self.server.create_token("alice@example.com", "main", "read,write")["token"]
        self.server.start()
        self.client = BankClient(self, self.server, token)

    def connect_and_link(self, history_days, active=True):
        _, accounts = self.client.linked_connection(history_days=history_days)
        account = accounts[0]
        connection = self.client.call("POST", "/api/v1/lunch-money/connections",
                                      {"access_token": LM_TOKEN}, expect=201).body["data"]
        asset = connection["assets"][0]
        link = self.client.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "LUNCH_MONEY",
            "destination_id": asset["id"], "transfer_start_date": "2000-01-01",
            "active": active}, expect=201).body["data"]
        transactions = self.client.transactions(bank_account_id=account["id"])
        self.assertTrue(transactions)
        return connection, asset, link, transactions

    def logs(self, **filters):
        rows, token = [], ""
        while True:
            query = "&".join(f"{k}={v}" for k, v in dict(filters, limit=500,
                                                          page_token=token).items())
            page = self.client.call("GET", f"/api/v1/transfer-logs?{query}", expect=200).body
            rows += page["data"]
            token = page["meta"]["next_page_token"]
            if not token:
                return rows

    def wait_all(self, link_id, count, statuses=("TRANSFERRED",)):
        def done():
            rows = self.logs(transfer_link_id=link_id)
            creates = [r for r in rows if r["status"] not in ("UPDATED", "UNDONE")]
            if len(creates) >= count and all(r["status"] in statuses for r in creates):
                return creates
            return None
        return wait_for(f"delivery of transfer link {link_id}", done, DELIVERY_TIMEOUT_SECONDS)

    def delivered(self, asset):
        return self.fake.transactions_of(asset["lunch_money_id"])

    def test_a_rule_set_external_id_never_merges_transactions(self):
        """A LUNCH_MONEY rule that sets one external_id for every transaction only leads each
        external_id: the import id still ends it, so every transaction arrives on its own."""
        _, asset, link, transactions = self.connect_and_link(history_days=5, active=False)
        self.client.call("POST", "/api/v1/rules", {
            "name": "Same id", "type": "LUNCH_MONEY",
            "actions": [{"action_type": "SET_LUNCH_MONEY_FIELD", "field_name": "external_id",
                         "value": "my-import"}],
            "transfer_links": [{"id": link["id"], "order": 0}]}, expect=201)
        self.client.call("PUT", f"/api/v1/transfer-links/{link['id']}", {"active": True},
                         expect=200)
        logs = self.wait_all(link["id"], len(transactions))
        stored = self.delivered(asset)
        self.assertEqual(len(stored), len(transactions))
        self.assertEqual(len({t["id"] for t in stored}), len(transactions))
        by_log = {l["import_id"]: l for l in logs}
        for transaction in stored:
            prefix, _, import_id = transaction["external_id"].partition(":")
            self.assertEqual(prefix, "my-import")
            self.assertEqual(str(transaction["id"]), by_log[import_id]["destination_transaction_id"])

    def test_delivery_exact_amounts_then_undo_and_send_again(self):
        _, asset, link, transactions = self.connect_and_link(history_days=30)
        logs = self.wait_all(link["id"], len(transactions))
        sent = self.delivered(asset)
        self.assertEqual(len(sent), len(transactions))
        by_external = {t["external_id"]: t for t in sent}
        self.assertEqual(len(by_external), len(sent), "an external_id was used twice")
        by_transaction = {log["bank_transaction_id"]: log for log in logs}
        for transaction in transactions:
            log = by_transaction[transaction["id"]]
            lunch_money = by_external[log["import_id"]]
            self.assertEqual(str(lunch_money["id"]), log["destination_transaction_id"])
            self.assertEqual(decimal.Decimal(lunch_money["amount"]),
                             decimal.Decimal(transaction["amount"]))
            self.assertEqual(lunch_money["currency"], "eur")
            self.assertEqual(lunch_money["payee"], transaction["generated"]["payee"][:140])
            expected_status = "cleared" if transaction["status"] == "BOOKED" else "uncleared"
            self.assertEqual(lunch_money["status"], expected_status)
        inserts = [r for r in self.fake.requests() if r["method"] == "POST"]
        self.assertLessEqual(len(inserts), -(-len(transactions) // 500) + 1, "not batched")
        for insert in inserts:
            self.assertIs(insert["body"]["debit_as_negative"], True)
            self.assertEqual(insert["token"], LM_TOKEN)

        target = logs[0]
        undo = self.client.call("POST", f"/api/v1/transfer-logs/{target['id']}/undo",
                                expect=200).body["data"]
        self.assertEqual(undo["status"], "UNDONE")
        neutralised = next(t for t in self.delivered(asset)
                           if str(t["id"]) == target["destination_transaction_id"])
        self.assertEqual(decimal.Decimal(neutralised["amount"]), 0)
        self.assertTrue(neutralised["notes"].startswith("Undone in finsync"), neutralised)
        self.assertEqual(neutralised["status"], "uncleared")
        self.assertEqual(neutralised["external_id"], target["import_id"])

        self.client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry",
                         {"include_undone": True,
                          "bank_transaction_ids": [target["bank_transaction_id"]]}, expect=200)

        def resent():
            rows = self.logs(transfer_link_id=link["id"],
                             bank_transaction_id=target["bank_transaction_id"])
            fresh = [r for r in rows if r["status"] == "TRANSFERRED" and r["id"] != target["id"]]
            return fresh[0] if fresh else None
        again = wait_for("the undone transfer to be sent again", resent, DELIVERY_TIMEOUT_SECONDS)
        self.assertNotEqual(again["import_id"], target["import_id"])
        self.assertEqual(len(self.delivered(asset)), len(transactions) + 1)
        self.assertEqual(decimal.Decimal(next(
            t for t in self.delivered(asset) if t["external_id"] == again["import_id"])["amount"]),
            decimal.Decimal(next(t for t in transactions
                                 if t["id"] == target["bank_transaction_id"])["amount"]))

    def test_undo_of_a_transaction_deleted_in_lunch_money_succeeds(self):
        _, asset, link, transactions = self.connect_and_link(history_days=5)
        logs = self.wait_all(link["id"], len(transactions))
        target = logs[0]
        self.assertTrue(self.fake.delete_transaction(int(target["destination_transaction_id"])))
        undo = self.client.call("POST", f"/api/v1/transfer-logs/{target['id']}/undo",
                                expect=200).body["data"]
        self.assertEqual(undo["status"], "UNDONE")
        self.assertEqual(len(self.delivered(asset)), len(transactions) - 1)

    def test_a_refused_transaction_fails_alone(self):
        # A LUNCH_MONEY rule gives incoming money a category the budget does not have: Lunch
        # Money refuses those by number, and every other transaction is still delivered.
        _, asset, link, transactions = self.connect_and_link(history_days=30, active=False)
        self.client.call("POST", "/api/v1/rules", {
            "name": "Unknown category", "type": "LUNCH_MONEY",
            "conditions": [{"field_name": "amount", "operator": "GREATER_THAN", "value": "0"}],
            "actions": [{"action_type": "SET_LUNCH_MONEY_FIELD", "field_name": "category_id",
                         "value": "999"}],
            "transfer_links": [{"id": link["id"], "order": 0}]}, expect=201)
        incoming = [t for t in transactions if not t["amount"].startswith("-")]
        self.assertTrue(incoming, "the sandbox account has incoming money")
        self.client.call("PUT", f"/api/v1/transfer-links/{link['id']}", {"active": True},
                         expect=200)
        first = self.wait_all(link["id"], len(transactions), statuses=("TRANSFERRED", "FAILED"))
        incoming_ids = {t["id"] for t in incoming}
        # Lunch Money checks a request as a whole: the others are delivered at once or, at the
        # latest, when they are retried without the refused ones.
        others = [row["bank_transaction_id"] for row in first if row["status"] == "FAILED"
                  and row["bank_transaction_id"] not in incoming_ids]
        if others:
            self.client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry",
                             {"bank_transaction_ids": others}, expect=200)

        def settled():
            rows = self.wait_all(link["id"], len(transactions),
                                 statuses=("TRANSFERRED", "FAILED"))
            if all((row["status"] == "FAILED") == (row["bank_transaction_id"] in incoming_ids)
                   for row in rows):
                return rows
            return None
        logs = wait_for("the refused transactions to fail alone", settled,
                        DELIVERY_TIMEOUT_SECONDS, interval_seconds=0.2)
        failed = [log for log in logs if log["status"] == "FAILED"]
        self.assertEqual({log["bank_transaction_id"] for log in failed}, incoming_ids)
        self.assertIn("category_id 999 does not exist", failed[0]["message"])
        self.assertEqual(len(self.delivered(asset)), len(transactions) - len(incoming))

    def test_outage_then_retry_delivers_each_exactly_once(self):
        _, accounts = self.client.linked_connection(history_days=15)
        connection_body = self.client.call("POST", "/api/v1/lunch-money/connections",
                                           {"access_token": LM_TOKEN}, expect=201).body["data"]
        asset = connection_body["assets"][0]
        transactions = self.client.transactions(bank_account_id=accounts[0]["id"])
        self.fake.set_outage(10_000, 503)
        link = self.client.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": accounts[0]["id"], "destination_type": "LUNCH_MONEY",
            "destination_id": asset["id"], "transfer_start_date": "2000-01-01"},
            expect=201).body["data"]
        logs = self.wait_all(link["id"], len(transactions), statuses=("FAILED",))
        self.assertIn("Lunch Money", logs[0]["message"])
        health = self.client.data("GET", f"/api/v1/lunch-money/connections/"
                                         f"{connection_body['id']}")["health"]
        self.assertEqual(health["status"], "FAILING")
        self.assertEqual(self.delivered(asset), [])
        self.fake.set_outage(0)
        self.client.call("POST", "/api/v1/transfer-links/retry", {}, expect=200)
        self.wait_all(link["id"], len(transactions))
        sent = self.delivered(asset)
        self.assertEqual(len(sent), len(transactions))
        self.assertEqual(len({t["external_id"] for t in sent}), len(transactions))
        health = self.client.data("GET", f"/api/v1/lunch-money/connections/"
                                         f"{connection_body['id']}")["health"]
        self.assertEqual(health["status"], "HEALTHY")

    def test_an_insert_whose_answer_was_lost_is_not_duplicated(self):
        # Lunch Money stores the first batch but the answer never arrives (a 502 from a proxy):
        # the resend is skipped by external_id and finsync finds the existing transactions.
        original = self.fake.handle
        lost = {"count": 0}

        def lose_first_answer(method, path, query, headers, raw_body):
            status, body, extra = original(method, path, query, headers, raw_body)
            if method == "POST" and path == "/v1/transactions" and lost["count"] == 0:
                lost["count"] += 1
                return 502, "<html>Bad Gateway</html>", {}
            return status, body, extra
        self.fake.handle = lose_first_answer
        _, asset, link, transactions = self.connect_and_link(history_days=15)
        logs = self.wait_all(link["id"], len(transactions), statuses=("FAILED",))
        self.assertIn("Lunch Money", logs[0]["message"])
        self.assertEqual(lost["count"], 1)
        self.assertEqual(len(self.delivered(asset)), len(transactions))  # Stored all the same.
        self.client.call("POST", "/api/v1/transfer-links/retry", {}, expect=200)
        logs = self.wait_all(link["id"], len(transactions))
        lookups = [r for r in self.fake.requests() if r["method"] == "GET"
                   and r["path"] == "/v1/transactions"]
        self.assertTrue(lookups, "the resend did not look up the skipped external ids")
        sent = {str(t["id"]): t for t in self.delivered(asset)}
        self.assertEqual(len(sent), len(transactions))
        for log in logs:
            self.assertEqual(sent[log["destination_transaction_id"]]["external_id"],
                             log["import_id"])


if __name__ == "__main__":
    unittest.main()
