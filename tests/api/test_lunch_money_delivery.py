"""Delivery to Lunch Money: a sandbox bank synced by the real server, a transfer link to an
imported Lunch Money asset, and the fake Lunch Money (tests/fakes/fake_lunchmoney.py, v1 as
documented: inserts of up to 500, external_id deduplication per asset, no delete) as the ground
truth of what arrived."""
import unittest

from tests.api import harness
from tests.api.test_sync import SERVER_ARGUMENTS, BankClient, BankTestCase, wait_for
from tests.fakes.fake_lunchmoney import FakeLunchMoney

LM_TOKEN = "lm-alice-delivery-0c1f"
DELIVERY_TIMEOUT_SECONDS = 60


class LunchMoneyDeliveryTest(BankTestCase):
    def setUp(self):
        self.fake = FakeLunchMoney().start()
        self.addCleanup(self.fake.stop)
        self.fake.add_account(LM_TOKEN, primary_currency="eur",
                              assets=[{"name": "Checking", "currency": "eur", "balance": "0"}])
        self.server = harness.Server(list(SERVER_ARGUMENTS) + [
            "--allow-private-destinations", "--lunch-money-url", self.fake.url])
        self.addCleanup(self.server.close)
        self.server.create_user("alice@example.com")
        token = self.server.create_token("alice@example.com", "main", "read,write")["token"]
        self.server.start()
        self.client = BankClient(self, self.server, token)

    def logs(self, link_id):
        page = self.client.call("GET", f"/api/v1/transfer-logs?transfer_link_id={link_id}"
                                "&limit=500", expect=200).body
        self.assertIsNone(page["meta"]["next_page_token"])
        return page["data"]

    def wait_all(self, link_id, count, status):
        def done():
            rows = [r for r in self.logs(link_id) if r["status"] != "UPDATED"]
            return rows if len(rows) >= count and all(r["status"] == status
                                                      for r in rows) else None
        return wait_for(f"delivery of link {link_id}", done, DELIVERY_TIMEOUT_SECONDS)

    def test_delivery_outage_retry_and_undo(self):
        client = self.client
        _, accounts = client.linked_connection(history_days=15)
        account = accounts[0]
        transactions = client.transactions(bank_account_id=account["id"])
        client.call("POST", "/api/v1/lunch-money/connections", {"access_token": LM_TOKEN},
                    expect=201)
        asset = client.data("GET", "/api/v1/lunch-money/assets")[0]
        self.fake.set_outage(10_000, 503)
        link = client.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "LUNCH_MONEY",
            "destination_id": asset["id"], "transfer_start_date": "2000-01-01"},
            expect=201).body["data"]
        failed = self.wait_all(link["id"], len(transactions), "FAILED")
        self.assertIn("Lunch Money", failed[0]["message"])
        self.fake.set_outage(0)
        client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry", {}, expect=200)
        logs = self.wait_all(link["id"], len(transactions), "TRANSFERRED")

        stored = self.fake.transactions_of(asset["lunch_money_id"])
        self.assertEqual(len(stored), len(transactions))
        by_external = {t["external_id"]: t for t in stored}
        self.assertEqual(len(by_external), len(stored), "an external_id was inserted twice")
        by_transaction = {l["bank_transaction_id"]: l for l in logs}
        for transaction in transactions:
            log = by_transaction[transaction["id"]]
            lunch = by_external[log["import_id"]]
            self.assertEqual(str(lunch["id"]), log["destination_transaction_id"])
            self.assertEqual(float(lunch["amount"]), float(transaction["amount"]))
            self.assertEqual(lunch["payee"], transaction["generated"]["payee"][:140])
        inserts = [r for r in self.fake.requests() if r["method"] == "POST"]
        self.assertLessEqual(len([r for r in inserts if r["status"] == 200]),
                             -(-len(transactions) // 500) + 1, "inserts were not batched")

        # v1 cannot delete: undo neutralises the transaction and logs it.
        target = logs[0]
        undo = client.call("POST", f"/api/v1/transfer-logs/{target['id']}/undo",
                           expect=200).body["data"]
        self.assertEqual(undo["status"], "UNDONE")
        neutralised = next(t for t in self.fake.transactions_of(asset["lunch_money_id"])
                           if str(t["id"]) == target["destination_transaction_id"])
        self.assertEqual(float(neutralised["amount"]), 0.0)
        self.assertIn("Undone in finsync", neutralised["notes"] or "")


if __name__ == "__main__":
    unittest.main()
