"""Data retention: a user's retention_days setting, and the daily job that deletes older bank
data, seen through the API on a server whose clock is moved ahead."""

import datetime
import unittest

from tests.api import harness
from tests.api.test_sync import SERVER_ARGUMENTS, BankClient, BankTestCase, wait_for

TWO_DAYS_SECONDS = 2 * 24 * 3600


class RetentionTest(BankTestCase):

    def test_retention_days_validation(self):
        """retention_days accepts 7 or more and null; other values are 422 naming the field,
        and unknown fields are refused too."""
        server, tokens = self.start_server()
        token = tokens["alice@example.com"]
        cases = [
            ({"retention_days": 7}, 200),
            ({"retention_days": None}, 200),
            ({"retention_days": 6}, 422),
            ({"retention_days": "30"}, 422),
            ({"retention_days": 36501}, 422),
            ({"colour": "red"}, 422),
            ({"name": "Alice", "retention_days": 30}, 200),
        ]
        for body, status in cases:
            with self.subTest(body=body):
                answer = server.request("PUT", "/api/v1/user", token, body)
                self.assertEqual(answer.status, status, answer.body)
                if status == 422:
                    field = next(iter(body))
                    self.assertIn(field, answer.body["errors"])
        user = server.request("GET", "/api/v1/user", token).body["data"]
        self.assertEqual(user["retention_days"], 30)
        self.assertEqual(user["name"], "Alice")

    def test_daily_job_deletes_data_older_than_retention(self):
        """With retention_days 7, the retention job deletes transactions and balances dated
        before the last 7 days and keeps the rest."""
        server, tokens = self.start_server()
        token = tokens["alice@example.com"]
        client = BankClient(self, server, token)
        connection, accounts = client.linked_connection(history_days=90)
        before = client.transactions()
        self.assertTrue(before)
        answer = server.request("PUT", "/api/v1/user", token, {"retention_days": 7})
        self.assertEqual(answer.status, 200, answer.body)

        server.stop()
        later = harness.Server(list(SERVER_ARGUMENTS) +
                               ["--clock-offset-seconds", str(TWO_DAYS_SECONDS)],
                               directory=server.directory)
        self.addCleanup(later.close)
        later.start()
        client = BankClient(self, later, token)
        today = (datetime.datetime.now(datetime.timezone.utc) +
                 datetime.timedelta(seconds=TWO_DAYS_SECONDS)).date()
        cutoff = (today - datetime.timedelta(days=7)).isoformat()

        def purged():
            rows = client.transactions()
            return rows if all(t["generated"]["date"] >= cutoff for t in rows) else None
        after = wait_for("the retention job", purged, 20.0)
        kept = [t for t in before if t["generated"]["date"] >= cutoff]
        self.assertTrue(kept, "the last 7 days hold transactions")
        self.assertLessEqual({t["id"] for t in kept}, {t["id"] for t in after})
        self.assertLess(len(after), len(before))
        for account in accounts:
            balances = client.data("GET", f"/api/v1/banks/accounts/{account['id']}/balances")
            for balance in balances:
                self.assertGreaterEqual(balance["reference_date"], cutoff)


if __name__ == "__main__":
    unittest.main()
