"""Transfer links, transfer logs and the webhook destination, end to end: a sandbox bank synced
by the real server, a transfer link to a local webhook receiver, and the receiver's record of
what arrived."""
import unittest

from tests.api import harness
from tests.api.test_sync import SERVER_ARGUMENTS, BankClient, BankTestCase, wait_for
from tests.api.webhook_receiver import WebhookReceiver

DELIVERY_TIMEOUT_SECONDS = 60
ARGUMENTS = list(SERVER_ARGUMENTS) + ["--allow-private-destinations"]


class TransferTestCase(BankTestCase):
    def start(self, arguments=ARGUMENTS, emails=("alice@example.com",)):
        server = harness.Server(arguments)
        self.addCleanup(server.close)
        tokens = {}
        for email in emails:
            server.create_user(email)
            tokens[email] = server.create_token(email, "main", "read,write")["token"]
        server.start()
        receiver = WebhookReceiver()
        self.addCleanup(receiver.close)
        return server, tokens, receiver

    def webhook_destination(self, client, receiver, **fields):
        response = client.call("POST", "/api/v1/webhook-destinations",
                               {"name": "my receiver", "url": receiver.url, **fields}, expect=201)
        destination = response.body["data"]
        self.assertTrue(destination["secret"].startswith("whsec_"), destination)
        receiver.secret = destination["secret"]
        return destination

    def link(self, client, account_id, destination_id, **fields):
        body = {"bank_account_id": account_id, "destination_type": "WEBHOOK",
                "destination_id": destination_id, "transfer_start_date": "2000-01-01", **fields}
        response = client.call("POST", "/api/v1/transfer-links", body, expect=201)
        self.assertEqual(response.body["message"], "Transfer link created.")
        return response.body["data"]

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

    def wait_settled(self, client, link_id, expected_count):
        """Waits until the link has expected_count logs and none is SCHEDULED."""
        def settled():
            rows = self.logs(client, transfer_link_id=link_id)
            if len(rows) >= expected_count and all(r["status"] != "SCHEDULED" for r in rows):
                return rows
            return None
        return wait_for(f"deliveries of transfer link {link_id}", settled,
                        DELIVERY_TIMEOUT_SECONDS)


class WebhookDeliveryTest(TransferTestCase):
    def test_each_transaction_arrives_once_signed_and_logged(self):
        server, tokens, receiver = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        _, accounts = client.linked_connection(history_days=20)
        account = accounts[0]
        transactions = client.transactions(bank_account_id=account["id"])
        self.assertTrue(transactions)
        destination = self.webhook_destination(client, receiver)
        # The secret is shown once: never by a read.
        shown = client.data("GET", f"/api/v1/webhook-destinations/{destination['id']}")
        self.assertNotIn("secret", shown)
        self.assertNotIn(destination["secret"],
                         str(client.call("GET", "/api/v1/webhook-destinations").body))
        link = self.link(client, account["id"], destination["id"])
        self.assertEqual(link["destination"]["url"], receiver.url)
        self.assertEqual(link["transfer_start_date"], "2000-01-01")
        logs = self.wait_settled(client, link["id"], len(transactions))

        self.assertEqual(len(logs), len(transactions))
        self.assertEqual({r["status"] for r in logs}, {"TRANSFERRED"}, logs[:3])
        accepted, counts, requests = receiver.snapshot()
        self.assertTrue(all(valid for _, _, _, valid in requests), "a signature did not verify")
        self.assertEqual(set(counts.values()), {1}, "a transaction arrived twice")
        by_transaction = {body["data"]["transaction"]["id"]: body for body in accepted.values()}
        self.assertEqual(set(by_transaction), {t["id"] for t in transactions})
        for transaction in transactions:
            body = by_transaction[transaction["id"]]
            self.assertEqual(body["type"], "transaction.transferred")
            self.assertEqual(body["data"]["outgoing"]["amount"], transaction["amount"])
            self.assertEqual(body["data"]["outgoing"]["payee"],
                             transaction["generated"]["payee"])
        for log in logs:
            self.assertEqual(log["destination_transaction_id"], log["import_id"])
            self.assertTrue(log["import_id"].startswith(f"fs:{link['id']}:"))
            self.assertLessEqual(len(log["import_id"]), 36)
            self.assertEqual(log["attempts"], 1)
            self.assertTrue(log["first_attempt_at"] and log["last_attempt_at"])
        one = client.data("GET", f"/api/v1/transfer-logs/{logs[0]['id']}")
        self.assertEqual(one, logs[0])

        stats = client.data("GET", "/api/v1/stats/transfers")
        self.assertEqual(stats["totals"]["TRANSFERRED"], len(transactions))
        self.assertEqual(stats["totals"]["total"], len(transactions))
        self.assertEqual(stats["by_transfer_link"][0]["transfer_link_id"], link["id"])
        self.assertEqual(sum(p["counts"]["TRANSFERRED"] for p in stats["series"]),
                         len(transactions))

    def test_outage_then_retry_delivers_each_transaction_exactly_once(self):
        server, tokens, receiver = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        _, accounts = client.linked_connection(history_days=10)
        account = accounts[0]
        transactions = client.transactions(bank_account_id=account["id"])
        destination = self.webhook_destination(client, receiver)
        receiver.fail_status = 503
        link = self.link(client, account["id"], destination["id"])
        logs = self.wait_settled(client, link["id"], len(transactions))
        self.assertIn("FAILED", {r["status"] for r in logs})
        failed = [r for r in logs if r["status"] == "FAILED"]
        self.assertTrue(any("answered 503" in r["message"] for r in failed), failed)
        health = client.data("GET", f"/api/v1/webhook-destinations/{destination['id']}")["health"]
        self.assertNotEqual(health["status"], "HEALTHY")
        self.assertEqual(receiver.snapshot()[1], {}, "nothing was accepted during the outage")

        receiver.fail_status = None
        retried = client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry", {},
                              expect=200).body["data"]
        self.assertEqual(retried["rescheduled"], len(failed))

        def all_transferred():
            rows = self.logs(client, transfer_link_id=link["id"])
            return rows if all(r["status"] == "TRANSFERRED" for r in rows) else None
        logs = wait_for("the retried deliveries", all_transferred, DELIVERY_TIMEOUT_SECONDS)
        self.assertEqual(len(logs), len(transactions), "a retry created a second log")
        accepted, counts, _ = receiver.snapshot()
        self.assertEqual(len(accepted), len(transactions))
        self.assertEqual(set(counts.values()), {1})
        self.assertTrue(all(r["attempts"] >= 2 for r in logs if r["id"] in
                            {f["id"] for f in failed}))
        # A second retry finds nothing to do and sends nothing.
        again = client.call("POST", "/api/v1/transfer-links/retry", {}, expect=200).body["data"]
        self.assertEqual(again["rescheduled"], 0)

    def test_link_rules_shape_the_copy_and_skip(self):
        server, tokens, receiver = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        _, accounts = client.linked_connection(history_days=10)
        account = accounts[0]
        transactions = client.transactions(bank_account_id=account["id"])
        incoming = [t for t in transactions if not t["amount"].startswith("-")]
        destination = self.webhook_destination(client, receiver)
        link = self.link(client, account["id"], destination["id"], active=False)
        rename = client.call("POST", "/api/v1/rules", {
            "name": "Tag outgoing", "type": "WEBHOOK",
            "conditions": [{"field_name": "amount", "operator": "LESS_THAN", "value": "0"}],
            "actions": [{"action_type": "SET_FIELD", "field_name": "generated.payee",
                         "value": "Paid: {{ generated.payee }}"}],
            "transfer_links": [{"id": link["id"], "order": 0}]}, expect=201).body["data"]
        skip = client.call("POST", "/api/v1/rules", {
            "name": "Skip income", "type": "WEBHOOK",
            "conditions": [{"field_name": "amount", "operator": "GREATER_THAN", "value": "0"}],
            "actions": [{"action_type": "SKIP_TRANSFER"}],
            "transfer_links": [{"id": link["id"], "order": 1}]}, expect=201).body["data"]
        # A BANK rule cannot be attached to a transfer link; a YNAB rule not to a WEBHOOK link.
        bank_rule = client.call("POST", "/api/v1/rules", {
            "name": "bank", "type": "BANK",
            "actions": [{"action_type": "SET_FIELD", "field_name": "generated.payee",
                         "value": "x"}]}, expect=201).body["data"]
        wrong = client.call("POST", f"/api/v1/transfer-links/{link['id']}/rules/{bank_rule['id']}")
        self.assertEqual(wrong.status, 422, wrong.body)
        shown = client.data("GET", f"/api/v1/transfer-links/{link['id']}")
        self.assertEqual(shown["rules"], [rename["id"], skip["id"]])

        client.call("PUT", f"/api/v1/transfer-links/{link['id']}", {"active": True}, expect=200)
        logs = self.wait_settled(client, link["id"], len(transactions))
        statuses = {r["bank_transaction_id"]: r["status"] for r in logs}
        for transaction in transactions:
            expected = "SKIPPED" if transaction in incoming else "TRANSFERRED"
            self.assertEqual(statuses[transaction["id"]], expected, transaction)
        accepted, _, _ = receiver.snapshot()
        self.assertEqual(len(accepted), len(transactions) - len(incoming))
        for body in accepted.values():
            original = body["data"]["transaction"]
            self.assertEqual(body["data"]["outgoing"]["payee"],
                             "Paid: " + original["generated"]["payee"])
        # The bank transaction itself is unchanged: transfer rules change only the copy.
        stored = {t["id"]: t for t in client.transactions(bank_account_id=account["id"])}
        for transaction in transactions:
            self.assertEqual(stored[transaction["id"]]["generated"]["payee"],
                             transaction["generated"]["payee"])
        rule_logs = client.data("GET", f"/api/v1/rule-logs?rule_id={rename['id']}&limit=500")
        self.assertEqual(len(rule_logs), len(transactions) - len(incoming))

    def test_undo_deletes_at_the_destination_and_allows_a_new_transfer(self):
        server, tokens, receiver = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        _, accounts = client.linked_connection(history_days=5)
        account = accounts[0]
        transactions = client.transactions(bank_account_id=account["id"])
        destination = self.webhook_destination(client, receiver)
        link = self.link(client, account["id"], destination["id"])
        logs = self.wait_settled(client, link["id"], len(transactions))
        first, second = logs[0], logs[1]

        undo = client.call("POST", f"/api/v1/transfer-logs/{first['id']}/undo", expect=200)
        self.assertEqual(undo.body["message"], "Transfer undone.")
        entry = undo.body["data"]
        self.assertEqual(entry["status"], "UNDONE")
        self.assertEqual(entry["undo_of_transfer_log_id"], first["id"])
        original = client.data("GET", f"/api/v1/transfer-logs/{first['id']}")
        self.assertTrue(original["undone"])
        accepted, _, _ = receiver.snapshot()
        deleted = accepted[first["import_id"] + ":deleted"]
        self.assertEqual(deleted["type"], "transaction.deleted")
        self.assertEqual(deleted["data"]["id"], first["destination_transaction_id"])
        again = client.call("POST", f"/api/v1/transfer-logs/{first['id']}/undo")
        self.assertProblem(again, 409, "conflict")

        bulk = client.call("POST", "/api/v1/transfer-logs/undo-bulk",
                           {"ids": [second["id"], entry["id"], 999999]}, expect=200).body
        self.assertEqual(bulk["meta"], {"undone": 1, "failed": 2})
        self.assertEqual([r["undone"] for r in bulk["data"]], [True, False, False])
        self.assertEqual(bulk["data"][2]["error"]["status"], 404)

        # A plain retry leaves undone transfers alone; include_undone sends them again under
        # a new import id.
        plain = client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry", {},
                            expect=200).body["data"]
        self.assertEqual(plain["rescheduled"], 0)
        resent = client.call("POST", f"/api/v1/transfer-links/{link['id']}/retry",
                             {"include_undone": True,
                              "bank_transaction_ids": [first["bank_transaction_id"]]},
                             expect=200).body["data"]
        self.assertEqual(resent["rescheduled"], 1)

        def sent_again():
            rows = self.logs(client, bank_transaction_id=first["bank_transaction_id"])
            latest = rows[0]
            return rows if latest["status"] == "TRANSFERRED" else None
        rows = wait_for("the new transfer", sent_again, DELIVERY_TIMEOUT_SECONDS)
        self.assertEqual(rows[0]["import_id"], first["import_id"] + ":1")
        self.assertIn(first["import_id"] + ":1", receiver.snapshot()[0])


class TransferLinkApiTest(TransferTestCase):
    def test_validation_ownership_and_lifecycle(self):
        server, tokens, receiver = self.start(emails=("alice@example.com", "bob@example.com"))
        alice = BankClient(self, server, tokens["alice@example.com"])
        bob = BankClient(self, server, tokens["bob@example.com"])
        _, accounts = alice.linked_connection(history_days=3)
        account = accounts[0]
        destination = self.webhook_destination(alice, receiver)

        missing = alice.call("POST", "/api/v1/transfer-links", {})
        for field in ("bank_account_id", "destination_type", "destination_id"):
            self.assertIn(field, missing.body["errors"], missing.body)
        bad_type = alice.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "BANK",
            "destination_id": destination["id"]})
        self.assertFieldError(bad_type, "destination_type")
        bad_date = alice.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "WEBHOOK",
            "destination_id": destination["id"], "transfer_start_date": "2025-02-30"})
        self.assertFieldError(bad_date, "transfer_start_date")
        no_account = alice.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": 999999, "destination_type": "WEBHOOK",
            "destination_id": destination["id"]})
        self.assertFieldError(no_account, "bank_account_id")
        # Another user's destination and account do not exist for bob.
        theirs = bob.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "WEBHOOK",
            "destination_id": destination["id"]})
        self.assertFieldError(theirs, "bank_account_id")
        self.assertFieldError(theirs, "destination_id")
        bad_url = alice.call("POST", "/api/v1/webhook-destinations", {"url": "ftp://x"})
        self.assertFieldError(bad_url, "url")

        link = alice.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "WEBHOOK",
            "destination_id": destination["id"],
            "on_booked_change": {"update_payee": True}}, expect=201).body["data"]
        self.assertEqual(link["on_booked_change"], {"update_status": True, "update_payee": True,
                                                    "update_description": False,
                                                    "update_amount": True})
        self.assertEqual(link["transfer_start_date"], harness.utc_rfc3339(
            __import__("datetime").datetime.now(__import__("datetime").timezone.utc))[:10])
        twin = alice.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "WEBHOOK",
            "destination_id": destination["id"]})
        self.assertProblem(twin, 409, "conflict")
        fixed = alice.call("PUT", f"/api/v1/transfer-links/{link['id']}", {"destination_id": 5})
        self.assertFieldError(fixed, "destination_id")
        updated = alice.data("PUT", f"/api/v1/transfer-links/{link['id']}",
                             {"active": False, "transfer_start_date": "2024-01-01"})
        self.assertFalse(updated["active"])
        self.assertEqual(updated["transfer_start_date"], "2024-01-01")
        listed = alice.call("GET", f"/api/v1/transfer-links?bank_account_id={account['id']}",
                            expect=200).body
        self.assertEqual([l["id"] for l in listed["data"]], [link["id"]])
        self.assertEqual(listed["meta"]["total"], 1)
        for method, path in (("GET", f"/api/v1/transfer-links/{link['id']}"),
                             ("PUT", f"/api/v1/transfer-links/{link['id']}"),
                             ("DELETE", f"/api/v1/transfer-links/{link['id']}"),
                             ("POST", f"/api/v1/transfer-links/{link['id']}/retry"),
                             ("GET", f"/api/v1/webhook-destinations/{destination['id']}"),
                             ("DELETE", f"/api/v1/webhook-destinations/{destination['id']}")):
            self.assertProblem(bob.call(method, path, {} if method != "GET" else None), 404,
                               "not_found")
        self.assertEqual(bob.data("GET", "/api/v1/transfer-links"), [])
        in_use = alice.call("DELETE", f"/api/v1/webhook-destinations/{destination['id']}")
        self.assertProblem(in_use, 409, "conflict")
        alice.call("DELETE", f"/api/v1/transfer-links/{link['id']}", expect=204)
        alice.call("GET", f"/api/v1/transfer-links/{link['id']}", expect=404)
        alice.call("DELETE", f"/api/v1/webhook-destinations/{destination['id']}", expect=204)

    def test_a_replayed_create_never_shows_the_secret_again(self):
        server, tokens, receiver = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        headers = {"Idempotency-Key": "create-destination-1"}
        first = client.call("POST", "/api/v1/webhook-destinations", {"url": receiver.url},
                            expect=201, headers=headers).body["data"]
        replay = client.call("POST", "/api/v1/webhook-destinations", {"url": receiver.url},
                             expect=201, headers=headers)
        self.assertEqual(replay.headers.get("idempotency-replayed"), "true")
        self.assertEqual(replay.body["data"]["id"], first["id"])
        self.assertNotIn("secret", replay.body["data"])
        self.assertTrue(first["secret"].startswith("whsec_"))
        self.assertEqual(len(client.data("GET", "/api/v1/webhook-destinations")), 1)

    def test_private_receivers_are_refused_without_the_flag(self):
        server, tokens, receiver = self.start(arguments=SERVER_ARGUMENTS)
        client = BankClient(self, server, tokens["alice@example.com"])
        _, accounts = client.linked_connection(history_days=3)
        destination = self.webhook_destination(client, receiver)
        link = self.link(client, accounts[0]["id"], destination["id"])
        transactions = client.transactions(bank_account_id=accounts[0]["id"])
        logs = self.wait_settled(client, link["id"], len(transactions))
        self.assertEqual({r["status"] for r in logs}, {"FAILED"})
        self.assertIn("refused", logs[0]["message"])
        self.assertEqual(receiver.snapshot()[2], [], "a request reached a loopback receiver")


if __name__ == "__main__":
    unittest.main()
