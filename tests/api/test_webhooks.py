"""Webhook subscriptions (issue 6 item 3), black box: endpoint management, Standard Webhooks
signatures checked by the reference library (npm `standardwebhooks`, through
tests/js/verify_webhook.mjs), delivery with retries to a receiver that fails and recovers,
filters by event type and bank account, stripping of sensitive identifiers, secret rotation,
refusal of private addresses, 410 Gone, redelivery, consent warnings and retention on a server
whose clock runs ahead, and tenant isolation.

The receiver is a local HTTP server in a thread (a fake of a customer's endpoint: it answers
what each test tells it to). Servers run with --webhook-retry-speedup 1000, which divides the
retry schedule (5 s, 5 min, 30 min, ...) by 1000 so a few retries take a few seconds.
"""

import http.server
import json
import os
import pathlib
import subprocess
import threading
import time
import unittest

from tests.api import harness
from tests.api.test_sync import (SERVER_ARGUMENTS, BankClient, BankTestCase, unsynced_connection,
                                 wait_for)

REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[2]
JS_DIRECTORY = REPOSITORY_ROOT / "tests" / "js"
WEBHOOK_ARGUMENTS = SERVER_ARGUMENTS + ("--allow-private-destinations",
                                        "--webhook-retry-speedup", "1000")
DELIVERY_TIMEOUT_SECONDS = 20.0
ENDPOINTS = "/api/v1/webhook-endpoints"


# ---------------------------------------------------------------------------------------------
# The receiver and the verifier


class Receiver:
    """A webhook receiver on 127.0.0.1. Every request is recorded as a dict (path, headers with
    lower-case names, body as text, status answered). `fail(path, count, status)` makes the
    next `count` requests to `path` answer `status`; everything else answers 204."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.failures = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                with receiver.lock:
                    status = 204
                    remaining, failure_status = receiver.failures.get(self.path, (0, 0))
                    if remaining > 0:
                        receiver.failures[self.path] = (remaining - 1, failure_status)
                        status = failure_status
                    receiver.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "status": status})
                answer = b"" if status == 204 else b'{"error":"receiver says no"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *arguments):
                pass

        self.server = http.server.ThreadingHTTPServer((harness.HOST, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://{harness.HOST}:{self.server.server_address[1]}{path}"

    def fail(self, path, count, status=500):
        with self.lock:
            self.failures[path] = (count, status)

    def received(self, path=None):
        with self.lock:
            return [dict(r) for r in self.requests if path is None or r["path"] == path]

    def events(self, path):
        """The envelopes answered with 2xx on `path`, parsed."""
        return [json.loads(r["body"]) for r in self.received(path) if r["status"] < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


_verifier_ready = False


def ensure_verifier():
    """Installs tests/js's locked dependencies (the npm package standardwebhooks) once."""
    global _verifier_ready
    if _verifier_ready:
        return
    if not (JS_DIRECTORY / "node_modules" / "standardwebhooks").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIRECTORY, check=True,
                       capture_output=True, timeout=300)
    _verifier_ready = True


def verify(secret, request):
    """What `new Webhook(secret).verify(body, headers)` says: (ok, payload or error)."""
    ensure_verifier()
    completed = subprocess.run(
        ["node", str(JS_DIRECTORY / "verify_webhook.mjs")],
        input=json.dumps({"secret": secret, "body": request["body"],
                          "headers": request["headers"]}),
        capture_output=True, text=True, timeout=60, check=True)
    answer = json.loads(completed.stdout)
    return answer["ok"], answer.get("payload", answer.get("error"))


# ---------------------------------------------------------------------------------------------
# Tests


class WebhookTestCase(BankTestCase):

    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def start(self, arguments=WEBHOOK_ARGUMENTS, emails=("alice@example.com",), directory=None):
        server = harness.Server(arguments, directory=directory)
        self.addCleanup(server.close)
        tokens = {}
        if directory is None:
            for email in emails:
                server.create_user(email)
                tokens[email] = server.create_token(email, "main", "read,write")["token"]
        server.start()
        return server, tokens

    def create_endpoint(self, client, path, **fields):
        response = client.call("POST", ENDPOINTS, {"url": self.receiver.url(path), **fields},
                               expect=201)
        self.assertEqual(response.body["message"], "Webhook endpoint created.")
        endpoint = response.body["data"]
        self.assertRegex(endpoint["secret"], r"^whsec_[A-Za-z0-9+/]{43}=$")
        return endpoint

    def deliveries(self, client, endpoint_id, query=""):
        return client.data("GET", f"{ENDPOINTS}/{endpoint_id}/deliveries{query}")

    def wait_delivery(self, client, endpoint_id, delivery_id, state="delivered",
                      timeout_seconds=DELIVERY_TIMEOUT_SECONDS):
        def reached():
            detail = client.data("GET", f"{ENDPOINTS}/{endpoint_id}/deliveries/{delivery_id}")
            return detail if detail["state"] == state else None
        return wait_for(f"delivery {delivery_id} to be {state}", reached, timeout_seconds)


class EndpointManagementTest(WebhookTestCase):

    def test_create_list_update_delete_and_the_secret_is_shown_only_by_create_and_rotate(self):
        """An endpoint is created with its fields and a whsec_ secret; GET, list and update
        never show a secret; rotation shows the new one once; delete answers 404 afterwards."""
        server, tokens = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        created = self.create_endpoint(client, "/a", description="books",
                                       events=["transactions.created", "balance.updated",
                                               "balance.updated"],
                                       omit_sensitive_identifiers=True)
        self.assertEqual(created["events"], ["transactions.created", "balance.updated"])
        self.assertEqual(created["bank_account_ids"], [])
        self.assertTrue(created["omit_sensitive_identifiers"])
        self.assertTrue(created["enabled"])
        self.assertIsNone(created["secret_rotated_at"])
        harness.parse_rfc3339(created["created_at"])
        endpoint_id = created["id"]

        fetched = client.data("GET", f"{ENDPOINTS}/{endpoint_id}")
        self.assertNotIn("secret", fetched)
        self.assertEqual({k: v for k, v in created.items() if k != "secret"}, fetched)
        listed = client.call("GET", ENDPOINTS, expect=200).body
        self.assertEqual([e["id"] for e in listed["data"]], [endpoint_id])
        self.assertEqual(listed["meta"]["total"], 1)

        updated = client.call("PUT", f"{ENDPOINTS}/{endpoint_id}",
                              {"events": None, "enabled": False, "description": None},
                              expect=200).body
        self.assertEqual(updated["message"], "Webhook endpoint updated.")
        self.assertEqual(updated["data"]["events"], [])
        self.assertFalse(updated["data"]["enabled"])
        self.assertEqual(updated["data"]["description"], "")
        self.assertEqual(updated["data"]["url"], created["url"])
        self.assertNotIn("secret", updated["data"])

        rotated = client.call("POST", f"{ENDPOINTS}/{endpoint_id}/rotate-secret", expect=200).body
        self.assertRegex(rotated["data"]["secret"], r"^whsec_")
        self.assertNotEqual(rotated["data"]["secret"], created["secret"])
        self.assertIsNotNone(rotated["data"]["previous_secret_expires_at"])
        after = harness.parse_rfc3339(rotated["data"]["previous_secret_expires_at"])
        rotated_at = harness.parse_rfc3339(rotated["data"]["secret_rotated_at"])
        self.assertAlmostEqual((after - rotated_at).total_seconds(), 86400, delta=1)

        for path in (ENDPOINTS, f"{ENDPOINTS}/{endpoint_id}",
                     f"{ENDPOINTS}/{endpoint_id}/deliveries"):
            body = client.call("GET", path, expect=200).raw.decode()
            self.assertNotIn(created["secret"], body)
            self.assertNotIn(rotated["data"]["secret"], body)
            self.assertNotIn("whsec_", body)

        client.call("DELETE", f"{ENDPOINTS}/{endpoint_id}", expect=204)
        self.assertProblem(client.call("GET", f"{ENDPOINTS}/{endpoint_id}"), 404, "not_found")
        self.assertEqual(client.call("GET", ENDPOINTS, expect=200).body["data"], [])

    def test_invalid_requests_name_the_field(self):
        """Unknown event types (named, with the known ones), bad URLs, unknown fields, wrong
        types and someone else's bank account are 422 naming the request's field."""
        server, tokens = self.start(emails=("alice@example.com", "bob@example.com"))
        alice = BankClient(self, server, tokens["alice@example.com"])
        bob = BankClient(self, server, tokens["bob@example.com"])
        _, bob_accounts = bob.linked_connection(history_days=7)
        url = self.receiver.url("/x")
        cases = [
            ({"url": url, "events": ["transactions.created", "transactions.deleted"]},
             "events.1"),
            ({"url": url, "events": "balance.updated"}, "events"),
            ({"url": url, "events": [7]}, "events.0"),
            ({"url": "ftp://example.com/"}, "url"),
            ({"url": "https://example.com/#x"}, "url"),
            ({"url": "https://example.com:99999/"}, "url"),
            ({}, "url"),
            ({"url": url, "event": []}, "event"),
            ({"url": url, "enabled": "yes"}, "enabled"),
            ({"url": url, "description": "x" * 501}, "description"),
            ({"url": url, "bank_account_ids": [bob_accounts[0]["id"]]}, "bank_account_ids.0"),
            ({"url": url, "bank_account_ids": [0]}, "bank_account_ids.0"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertFieldError(alice.call("POST", ENDPOINTS, body), field)
        unknown = alice.call("POST", ENDPOINTS, {"url": url, "events": ["transactions.deleted"]})
        message = unknown.body["errors"]["events.0"]
        self.assertIn("transactions.deleted", str(message))
        self.assertIn("bank_connection.consent_expiring", str(message))
        self.assertEqual(alice.call("GET", ENDPOINTS, expect=200).body["data"], [])
        types = alice.data("GET", "/api/v1/webhook-event-types")
        self.assertIn("transfer.succeeded", types)
        self.assertIn("bank_connection.health_changed", types)

    def test_another_users_endpoints_and_deliveries_are_404(self):
        """Every route on another user's endpoint answers 404, exactly like a missing one."""
        server, tokens = self.start(emails=("alice@example.com", "bob@example.com"))
        alice = BankClient(self, server, tokens["alice@example.com"])
        bob = BankClient(self, server, tokens["bob@example.com"])
        endpoint = self.create_endpoint(alice, "/alice")
        delivery = alice.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test", expect=202).body
        delivery_id = delivery["data"]["id"]
        base = f"{ENDPOINTS}/{endpoint['id']}"
        for method, path, body in [
                ("GET", base, None), ("PUT", base, {"enabled": False}), ("DELETE", base, None),
                ("POST", f"{base}/rotate-secret", None), ("POST", f"{base}/test", None),
                ("GET", f"{base}/deliveries", None),
                ("GET", f"{base}/deliveries/{delivery_id}", None),
                ("POST", f"{base}/deliveries/{delivery_id}/redeliver", None),
                ("GET", f"{ENDPOINTS}/999999", None)]:
            with self.subTest(method=method, path=path):
                self.assertProblem(bob.call(method, path, body), 404, "not_found")
        self.assertEqual(bob.call("GET", ENDPOINTS, expect=200).body["data"], [])
        self.assertTrue(alice.data("GET", base)["enabled"])


class DeliveryTest(WebhookTestCase):

    def test_a_failing_receiver_gets_the_event_exactly_once_after_it_recovers(self):
        """The receiver answers 500 three times, then 204: the event is retried with the same
        webhook-id, delivered on the fourth attempt and never again; every attempt is listed
        and every request carries a signature the reference library accepts."""
        server, tokens = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        endpoint = self.create_endpoint(client, "/flaky")
        self.receiver.fail("/flaky", 3, 500)
        queued = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test", expect=202).body
        self.assertEqual(queued["message"], "Test event queued for delivery.")
        delivery = queued["data"]
        self.assertEqual(delivery["event_type"], "webhook.test")
        detail = self.wait_delivery(client, endpoint["id"], delivery["id"])
        time.sleep(1.0)  # Nothing more may arrive after the delivery succeeded.

        requests = self.receiver.received("/flaky")
        self.assertEqual([r["status"] for r in requests], [500, 500, 500, 204])
        self.assertEqual({r["headers"]["webhook-id"] for r in requests}, {delivery["event_id"]})
        self.assertEqual(len({r["body"] for r in requests}), 1, "the body changed between tries")
        for request in requests:
            self.assertEqual(request["headers"]["content-type"], "application/json")
            ok, payload = verify(endpoint["secret"], request)
            self.assertTrue(ok, payload)
        envelope = json.loads(requests[-1]["body"])
        self.assertEqual(set(envelope), {"event_type", "event_id", "webhook_endpoint_id",
                                         "created_at", "data"})
        self.assertEqual(envelope["event_type"], "webhook.test")
        self.assertEqual(envelope["event_id"], delivery["event_id"])
        self.assertEqual(envelope["webhook_endpoint_id"], endpoint["id"])
        harness.parse_rfc3339(envelope["created_at"])
        self.assertEqual(json.loads(detail["payload"]) if isinstance(detail["payload"], str)
                         else detail["payload"], envelope)

        self.assertEqual(detail["attempts_count"], 4)
        self.assertIsNotNone(detail["delivered_at"])
        self.assertIsNone(detail["next_attempt_at"])
        self.assertEqual([a["outcome"] for a in detail["attempts"]],
                         ["delivered", "failed", "failed", "failed"])
        self.assertEqual([a["status_code"] for a in detail["attempts"]], [204, 500, 500, 500])
        self.assertIn("receiver says no", detail["attempts"][1]["response_excerpt"])
        self.assertIn("500", detail["attempts"][1]["error"])
        for attempt in detail["attempts"]:
            self.assertGreaterEqual(attempt["duration_ms"], 0)
            harness.parse_rfc3339(attempt["started_at"])
        listed = self.deliveries(client, endpoint["id"])
        self.assertEqual([d["id"] for d in listed], [delivery["id"]])
        self.assertEqual(listed[0]["state"], "delivered")
        self.assertEqual(listed[0]["last_status_code"], 204)

        # Manual redelivery sends the same event again, with the same webhook-id.
        again = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/deliveries/{delivery['id']}/"
                                    "redeliver", expect=202).body["data"]
        self.assertEqual(again["state"], "pending")
        detail = wait_for("the redelivery", lambda: (
            lambda d: d if d["attempts_count"] == 5 and d["state"] == "delivered" else None)(
                client.data("GET", f"{ENDPOINTS}/{endpoint['id']}/deliveries/{delivery['id']}")),
            DELIVERY_TIMEOUT_SECONDS)
        requests = self.receiver.received("/flaky")
        self.assertEqual(len(requests), 5)
        self.assertEqual(requests[-1]["headers"]["webhook-id"], delivery["event_id"])
        self.assertEqual(requests[-1]["body"], requests[0]["body"])

    def test_deliveries_are_listed_newest_first_in_pages_and_filtered_by_state(self):
        """Three test events: the listing is newest first, pages with next_page_token, and
        filters by state; a bad query is 422."""
        server, tokens = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        endpoint = self.create_endpoint(client, "/pages")
        ids = [client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test",
                           expect=202).body["data"]["id"] for _ in range(3)]
        for delivery_id in ids:
            self.wait_delivery(client, endpoint["id"], delivery_id)
        first = client.call("GET", f"{ENDPOINTS}/{endpoint['id']}/deliveries?limit=2",
                            expect=200).body
        self.assertEqual([d["id"] for d in first["data"]], [ids[2], ids[1]])
        token = first["meta"]["next_page_token"]
        second = client.call("GET", f"{ENDPOINTS}/{endpoint['id']}/deliveries?limit=2&"
                                    f"page_token={token}", expect=200).body
        self.assertEqual([d["id"] for d in second["data"]], [ids[0]])
        self.assertIsNone(second["meta"]["next_page_token"])
        self.assertEqual(self.deliveries(client, endpoint["id"], "?state=failed"), [])
        self.assertEqual(len(self.deliveries(client, endpoint["id"], "?state=delivered")), 3)
        for query, field in (("?state=lost", "state"), ("?limit=0", "limit"),
                             ("?page_token=abc", "page_token")):
            self.assertFieldError(client.call("GET", f"{ENDPOINTS}/{endpoint['id']}/deliveries"
                                                     f"{query}"), field)

    def test_410_gone_disables_the_endpoint(self):
        """A receiver answering 410 Gone ends the delivery at once and disables the endpoint,
        with the reason shown; redelivery then needs the endpoint enabled again."""
        server, tokens = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        endpoint = self.create_endpoint(client, "/gone")
        self.receiver.fail("/gone", 1, 410)
        delivery = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test",
                               expect=202).body["data"]
        detail = self.wait_delivery(client, endpoint["id"], delivery["id"], state="failed")
        self.assertEqual(detail["attempts_count"], 1)
        self.assertEqual(detail["last_status_code"], 410)
        disabled = client.data("GET", f"{ENDPOINTS}/{endpoint['id']}")
        self.assertFalse(disabled["enabled"])
        self.assertIn("410", disabled["disabled_reason"])
        redeliver = f"{ENDPOINTS}/{endpoint['id']}/deliveries/{delivery['id']}/redeliver"
        self.assertProblem(client.call("POST", redeliver), 409, "conflict")
        enabled = client.data("PUT", f"{ENDPOINTS}/{endpoint['id']}", {"enabled": True})
        self.assertIsNone(enabled["disabled_reason"])
        client.call("POST", redeliver, expect=202)
        self.wait_delivery(client, endpoint["id"], delivery["id"])
        self.assertEqual([r["status"] for r in self.receiver.received("/gone")], [410, 204])

    def test_rotated_secret_signs_and_the_previous_one_keeps_signing(self):
        """After rotation a delivery carries two signatures: the new secret verifies it, and so
        does the previous one (valid 24 hours), so receivers can switch without a gap."""
        server, tokens = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        endpoint = self.create_endpoint(client, "/rotate")
        rotated = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/rotate-secret",
                              expect=200).body["data"]
        delivery = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test",
                               expect=202).body["data"]
        self.wait_delivery(client, endpoint["id"], delivery["id"])
        request = self.receiver.received("/rotate")[-1]
        signatures = request["headers"]["webhook-signature"].split(" ")
        self.assertEqual(len(signatures), 2, signatures)
        self.assertTrue(all(s.startswith("v1,") for s in signatures))
        for secret in (rotated["secret"], endpoint["secret"]):
            ok, payload = verify(secret, request)
            self.assertTrue(ok, payload)
            self.assertEqual(payload["event_id"], delivery["event_id"])
        tampered = dict(request, body=request["body"].replace("webhook.test", "webhook.tost"))
        self.assertFalse(verify(rotated["secret"], tampered)[0])
        stranger = "whsec_" + "A" * 43 + "="
        self.assertFalse(verify(stranger, request)[0])

    def test_private_addresses_are_refused_without_the_flag(self):
        """A server started without --allow-private-destinations records the attempt to reach
        127.0.0.1 as refused, keeps retrying on its schedule, and the receiver hears nothing."""
        server, tokens = self.start(arguments=SERVER_ARGUMENTS +
                                    ("--webhook-retry-speedup", "1000"))
        client = BankClient(self, server, tokens["alice@example.com"])
        endpoint = self.create_endpoint(client, "/private")
        delivery = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test",
                               expect=202).body["data"]

        def refused():
            detail = client.data("GET", f"{ENDPOINTS}/{endpoint['id']}/deliveries/"
                                        f"{delivery['id']}")
            return detail if len(detail["attempts"]) >= 2 else None
        detail = wait_for("two refused attempts", refused, DELIVERY_TIMEOUT_SECONDS)
        self.assertEqual(detail["state"], "pending")
        self.assertIsNotNone(detail["next_attempt_at"])
        for attempt in detail["attempts"]:
            self.assertEqual(attempt["outcome"], "refused", attempt)
            self.assertIsNone(attempt["status_code"])
            self.assertTrue(attempt["error"])
        self.assertEqual(self.receiver.received("/private"), [])


class EventTest(WebhookTestCase):

    def test_sync_events_are_filtered_by_type_and_account_and_stripped_on_request(self):
        """Syncing a sandbox connection publishes transactions.created (one event per account
        per sync, ids only for a large batch), balance.updated and a health change; endpoints
        get only the types and accounts they asked for; one asking to omit sensitive
        identifiers gets no IBAN, no raw bank record and no account holder name. A manual
        transaction arrives inline, rendered as the transactions API renders it."""
        server, tokens = self.start()
        client = BankClient(self, server, tokens["alice@example.com"])
        connection_id, accounts = unsynced_connection(client, history_days=30)
        first = accounts[0]["id"]
        everything = self.create_endpoint(client, "/all")
        only_first = self.create_endpoint(client, "/first", events=["transactions.created"],
                                          bank_account_ids=[first])
        balances = self.create_endpoint(client, "/balances", events=["balance.updated"])
        stripped = self.create_endpoint(client, "/stripped", events=["transactions.created"],
                                        omit_sensitive_identifiers=True)
        for account in accounts:
            client.sync(account["id"])
        expected_counts = {a["id"]: len(client.transactions(bank_account_id=a["id"]))
                           for a in accounts}
        self.assertTrue(all(expected_counts.values()), expected_counts)

        def created_counts(path):
            counts = {}
            for event in self.receiver.events(path):
                if event["event_type"] == "transactions.created":
                    data = event["data"]
                    counts[data["bank_account_id"]] = (counts.get(data["bank_account_id"], 0) +
                                                       data["count"])
            return counts
        wait_for("every transaction announced", lambda: created_counts("/all") ==
                 expected_counts, DELIVERY_TIMEOUT_SECONDS)
        wait_for("the filtered endpoints' events", lambda: (
            created_counts("/first") == {first: expected_counts[first]} and
            created_counts("/stripped") == expected_counts and
            len(self.receiver.events("/balances")) >= len(accounts)), DELIVERY_TIMEOUT_SECONDS)

        all_types = {e["event_type"] for e in self.receiver.events("/all")}
        self.assertLessEqual({"transactions.created", "balance.updated",
                              "bank_connection.health_changed"}, all_types)
        self.assertEqual({e["event_type"] for e in self.receiver.events("/first")},
                         {"transactions.created"})
        self.assertEqual({e["data"]["bank_account_id"] for e in self.receiver.events("/first")},
                         {first})
        self.assertEqual({e["event_type"] for e in self.receiver.events("/balances")},
                         {"balance.updated"})
        balance = self.receiver.events("/balances")[0]["data"]
        self.assertIn(balance["bank_account_id"], expected_counts)
        for entry in balance["balances"]:
            self.assertRegex(entry["amount"], r"^-?\d+\.\d{2}$")
            self.assertIsInstance(entry["amount_minor"], int)
        health = [e["data"] for e in self.receiver.events("/all")
                  if e["event_type"] == "bank_connection.health_changed"]
        self.assertIn({"previous_status": "FAILING", "status": "HEALTHY"},
                      [{k: h[k] for k in ("previous_status", "status")} for h in health])
        self.assertEqual(health[0]["bank_connection_id"], connection_id)
        for event in self.receiver.events("/all"):
            if event["event_type"] == "transactions.created":
                data = event["data"]
                self.assertEqual(len(data["transaction_ids"]), data["count"])
                if data["count"] > 25:
                    self.assertIsNone(data["transactions"])

        # Every delivery verifies with its endpoint's secret.
        for endpoint, path in ((everything, "/all"), (only_first, "/first"),
                               (balances, "/balances"), (stripped, "/stripped")):
            ok, payload = verify(endpoint["secret"], self.receiver.received(path)[0])
            self.assertTrue(ok, f"{path}: {payload}")

        # A manual transaction with IBANs arrives inline; the stripping endpoint gets it without
        # identifiers or the holder's name (money in: the creditor is the holder).
        manual = client.call("POST", "/api/v1/banks/transactions", {
            "bank_account_id": first, "amount": "12.34", "booking_date": "2024-01-02",
            "creditor": {"name": "Alice Holder", "iban": "DE89370400440532013000"},
            "debtor": {"name": "Employer GmbH", "iban": "DE02120300000000202051"},
            "remittance_information": {"unstructured": "salary"}}, expect=201).body["data"]

        def manual_event(path):
            for event in self.receiver.events(path):
                data = event["data"]
                if (event["event_type"] == "transactions.created" and
                        data["transaction_ids"] == [manual["id"]]):
                    return data
            return None
        full = wait_for("the manual transaction's event", lambda: manual_event("/all"),
                        DELIVERY_TIMEOUT_SECONDS)
        bare = wait_for("the stripped copy", lambda: manual_event("/stripped"),
                        DELIVERY_TIMEOUT_SECONDS)
        fetched = client.data("GET", f"/api/v1/banks/transactions/{manual['id']}")
        self.assertEqual(full["transactions"], [fetched])
        self.assertEqual(full["count"], 1)
        item = bare["transactions"][0]
        self.assertIsNone(item["creditor"]["iban"])
        self.assertIsNone(item["debtor"]["iban"])
        self.assertIsNone(item["creditor"]["name"])
        self.assertEqual(item["debtor"]["name"], "Employer GmbH")
        self.assertIsNone(item["raw"])
        self.assertEqual(item["amount"], "12.34")
        self.assertNotIn("DE89370400440532013000", json.dumps(bare))
        for request in self.receiver.received("/stripped"):
            for iban in (a["iban"] for a in accounts if a.get("iban")):
                self.assertNotIn(iban, request["body"])

    def test_consent_warning_and_retention_on_a_server_living_ahead(self):
        """A consent valid ten days is announced (bank_connection.consent_expiring) once it has
        a week left, on a server restarted four days later, and only once; thirty-one days
        after the start the purge has removed the delivered events older than thirty days."""
        server, tokens = self.start()
        token = tokens["alice@example.com"]
        client = BankClient(self, server, token)
        endpoint = self.create_endpoint(client, "/consent",
                                        events=["bank_connection.consent_expiring"])
        connection, _ = client.linked_connection(history_days=7, access_valid_for_days=10)
        ping = client.call("POST", f"{ENDPOINTS}/{endpoint['id']}/test", expect=202).body["data"]
        self.wait_delivery(client, endpoint["id"], ping["id"])
        self.assertEqual([e["event_type"] for e in self.receiver.events("/consent")],
                         ["webhook.test"])
        server.stop()

        for days in (4, 5):
            later, _ = self.start(arguments=WEBHOOK_ARGUMENTS +
                                  ("--clock-offset-seconds", str(days * 86400)),
                                  directory=server.directory)
            client = BankClient(self, later, token)

            def warned():
                events = [e for e in self.receiver.events("/consent")
                          if e["event_type"] == "bank_connection.consent_expiring"]
                return events or None
            warnings = wait_for("the consent warning", warned, DELIVERY_TIMEOUT_SECONDS)
            time.sleep(1.0)
            later.stop()
        warnings = [e for e in self.receiver.events("/consent")
                    if e["event_type"] == "bank_connection.consent_expiring"]
        self.assertEqual(len(warnings), 1, warnings)
        data = warnings[0]["data"]
        self.assertEqual(data["bank_connection_id"], connection["id"])
        self.assertIn(data["days_left"], (5, 6))
        self.assertEqual(data["consent_expires_at"], connection["consent_expires_at"])
        request = [r for r in self.receiver.received("/consent") if "consent_expiring" in
                   r["body"]][0]
        ok, payload = verify(endpoint["secret"], request)  # Signed with the real time.
        self.assertTrue(ok, payload)

        latest, _ = self.start(arguments=WEBHOOK_ARGUMENTS +
                               ("--clock-offset-seconds", str(31 * 86400)),
                               directory=server.directory)
        client = BankClient(self, latest, token)
        wait_for("the purge of the month-old test event", lambda: [
            d["event_type"] for d in self.deliveries(client, endpoint["id"])] == [
                "bank_connection.consent_expiring"], DELIVERY_TIMEOUT_SECONDS)


if __name__ == "__main__":
    unittest.main()
