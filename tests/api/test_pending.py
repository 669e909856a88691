"""Pending transactions booking, end to end, on a server whose clock is moved ahead.

The sandbox bank books card payments one to three days after they are made, under a new id and
often with a different text or amount. A sandbox server can run with --clock-offset-seconds, so
restarting it days later shows, through the API only, what a user sees when that happens."""

import unittest

from tests.api import harness
from tests.api.test_sync import SERVER_ARGUMENTS, BankClient, BankTestCase

FOUR_DAYS_SECONDS = 4 * 24 * 3600


class PendingBooksTest(BankTestCase):

    def test_pending_transactions_book_in_place_without_duplicates(self):
        """After four days every pending transaction has booked: each keeps its finsync id,
        turns BOOKED with the bank's new id, is reported as modified in the change feed, and no
        booked twin is added beside it."""
        server, tokens = self.start_server()
        client = BankClient(self, server, tokens["alice@example.com"])
        connection, accounts = client.linked_connection()
        checking = accounts[0]["id"]
        pending = client.transactions(bank_account_id=checking, status="PENDING")
        self.assertTrue(pending, "the sandbox checking account has pending card payments")
        before = {t["id"]: t for t in client.transactions(bank_account_id=checking)}
        _, _, _, cursor = client.changes()

        server.stop()
        later = harness.Server(list(SERVER_ARGUMENTS) +
                               ["--clock-offset-seconds", str(FOUR_DAYS_SECONDS)],
                               directory=server.directory)
        self.addCleanup(later.close)
        later.start()
        client = BankClient(self, later, tokens["alice@example.com"])
        # Saving the settings schedules a sync now (the manual limit may still be in force).
        client.trigger_scheduled_sync(checking)

        def booked_all():
            rows = {t["id"]: t for t in client.transactions(bank_account_id=checking)}
            return rows if all(rows.get(t["id"], {}).get("status") == "BOOKED"
                               for t in pending) else None
        after = harness_wait(booked_all)

        for old in pending:
            new = after[old["id"]]
            self.assertEqual(new["status"], "BOOKED", new)
            self.assertTrue(new["transaction_id"], new)
            self.assertNotEqual(new["transaction_id"], old["transaction_id"], new)
            self.assertEqual(new["currency"], old["currency"])
        # Nothing that existed disappeared, and no booked twin of a pending one was added.
        self.assertLessEqual(set(before), set(after))
        added, modified, removed, _ = client.changes(cursor)
        self.assertEqual(removed, {}, "a pending transaction was removed instead of booked")
        self.assertLessEqual({t["id"] for t in pending}, set(modified))
        for new_id, transaction in added.items():
            for old in pending:
                same = (transaction["amount"] == old["amount"] and
                        transaction["generated"]["payee"] == old["generated"]["payee"])
                self.assertFalse(same, f"{new_id} duplicates pending {old['id']}")


class ConsentExpiryTest(BankTestCase):

    def test_consent_expires_after_access_valid_for_days(self):
        """A consent given for one day shows as expired (status EX, a message naming the
        consent, syncs answer 409) once the server's clock is two days later; nothing is
        reported as a generic failure."""
        server, tokens = self.start_server()
        client = BankClient(self, server, tokens["alice@example.com"])
        connection, accounts = client.linked_connection(access_valid_for_days=1)
        self.assertEqual(connection["status"], "LN")
        self.assertTrue(connection["consent_expires_at"])
        server.stop()
        later = harness.Server(list(SERVER_ARGUMENTS) +
                               ["--clock-offset-seconds", str(2 * 24 * 3600)],
                               directory=server.directory)
        self.addCleanup(later.close)
        later.start()
        client = BankClient(self, later, tokens["alice@example.com"])
        answer = client.sync(accounts[0]["id"], expect=409)
        self.assertIn("consent", answer.body["detail"].lower())
        expired = client.connection(connection["id"])
        self.assertEqual(expired["status"], "EX", expired)
        self.assertIn("consent", expired["status_message"].lower(), expired)
        self.assertNotEqual(expired["health"]["status"], "HEALTHY")


def harness_wait(predicate, timeout_seconds=20.0):
    from tests.api.test_sync import wait_for
    return wait_for("pending transactions to book", predicate, timeout_seconds)


if __name__ == "__main__":
    unittest.main()
