"""Bank sync under injected faults (issue 3), black box: every sandbox fault kind gives the
documented health change on the account and its connection (HEALTHY -> FAILING with
failure_count, last_attempt_at and the integrator's message -> DEAD after 10 failures in a row
-> HEALTHY on the next success), scheduled syncs retry with backoff and then fall back to a
daily rhythm, the bank's rate limit is answered 429 with Retry-After and waited out, and an
expired consent shows as status EX and 409, not as a generic error.

Fault plans (see src/sources/sandbox/fault_plan.h) apply to every sandbox call about a consent,
so each test uses its own connection, and sets the plan only after the scheduled first syncs
are done: from then on only the syncs the test makes call the bank (the other accounts' next
scheduled syncs are hours away).

The scheduler's quick retries and the bank's rate limit are checked where the job stands
(the jobs table, read-only), since waiting a day or ten minutes for the next run is not an
option in a test.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import test_sync  # noqa: E402
from test_sync import BankClient, wait_for  # noqa: E402

TIMEOUT_MESSAGE = "The sandbox bank did not answer in time (injected timeout)."
SERVER_ERROR_MESSAGE = "The sandbox bank had an internal error (injected HTTP 503)."
CONSENT_EXPIRED_MESSAGE = ("End User Agreement (EUA) has expired; the user must renew the "
                           "consent.")
DEAD_AFTER_FAILURES = 10
QUICK_RETRIES = 3  # Failed attempts of a scheduled sync before it falls back to daily.
DAY_MS = 86_400_000
SCHEDULED_SYNC_TIMEOUT_SECONDS = 20.0


def throttled_message(seconds):
    return f"Request was throttled. Expected available in {seconds} seconds."


class SyncFaultTest(test_sync.BankTestCase):
    """One server for the class; every test makes its own connection."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(test_sync.SERVER_ARGUMENTS)
        cls.addClassCleanup(cls.server.close)
        cls.server.create_user("fay@example.com", "Fay")
        cls.token = cls.server.create_token("fay@example.com")["token"]
        cls.server.start()

    def setUp(self):
        self.client = BankClient(self, self.server, self.token)

    # -- helpers -------------------------------------------------------------------------------

    def faulty_account(self, spec):
        """A linked, synced connection whose bank now answers with `spec`:
        (connection_id, account)."""
        connection, accounts = self.client.linked_connection(history_days=30)
        for item in [connection] + accounts:
            self.assertEqual(item["health"]["status"], "HEALTHY", item)
        self.client.set_faults(connection["id"], spec)
        return connection["id"], accounts[0]

    def assertHealth(self, connection_id, account_id, status, failure_count, message,
                     attempted_after=None):
        """The account and its connection both show this health."""
        account = self.client.account(account_id)
        connection = self.client.connection(connection_id)
        for label, item in (("account", account), ("connection", connection)):
            health = item["health"]
            context = f"{label}: {health}"
            self.assertEqual(health["status"], status, context)
            self.assertEqual(health["failure_count"], failure_count, context)
            if message is None:
                self.assertEqual(health["integrator_message"], "", context)
            else:
                self.assertIn(message, health["integrator_message"], context)
            self.assertIsNotNone(health["last_attempt_at"], context)
            if attempted_after is not None:
                attempted = harness.parse_rfc3339(health["last_attempt_at"])
                self.assertGreaterEqual(attempted, attempted_after.replace(microsecond=0),
                                        context)
        return account, connection

    def failed_sync(self, account_id, status, code):
        response = self.client.call("POST", f"/api/v1/banks/accounts/{account_id}/sync", {})
        self.assertProblem(response, status, code)
        return response

    def sync_job(self, account_id):
        """The newest durable job of the account's scheduled sync: (state, run_at_ms,
        attempts, last_error)."""
        rows = test_sync.query_database(
            self.server.db_path,
            "SELECT state, run_at_ms, attempts, last_error FROM jobs WHERE kind = "
            "'sync_account' AND dedupe_key = ? ORDER BY id DESC LIMIT 1",
            (f"sync:account:{account_id}",))
        self.assertTrue(rows, f"no sync job for account {account_id}")
        return rows[0]

    def wait_for_health(self, account_id, predicate, description):
        def check():
            health = self.client.account(account_id)["health"]
            return health if predicate(health) else None
        return wait_for(description, check, SCHEDULED_SYNC_TIMEOUT_SECONDS, 0.02)

    # -- manual syncs --------------------------------------------------------------------------

    def test_transient_fault_marks_failing_then_next_sync_heals(self):
        """A bank timeout or 5xx makes the manual sync 503 with the bank's message; account and
        connection turn FAILING (failure_count 1, last_attempt_at, integrator_message) while the
        consent stays LN; the next sync succeeds and restores HEALTHY with count 0."""
        for spec, message in (("timeout", TIMEOUT_MESSAGE),
                              ("server_error", SERVER_ERROR_MESSAGE)):
            with self.subTest(spec):
                connection_id, account = self.faulty_account(spec)
                before = test_sync.utc_now()
                response = self.failed_sync(account["id"], 503, "unavailable")
                self.assertIn(message, response.body["detail"])
                _, connection = self.assertHealth(connection_id, account["id"], "FAILING", 1,
                                                  message, attempted_after=before)
                self.assertEqual(connection["status"], "LN")
                self.assertTrue(connection["enabled"])
                # A failed sync does not use up the once-a-minute manual allowance.
                answer = self.client.sync(account["id"]).body["data"]
                self.assertEqual(answer["transactions"]["rejected"], 0)
                self.assertHealth(connection_id, account["id"], "HEALTHY", 0, None,
                                  attempted_after=before)

    def test_counted_server_errors_fail_that_many_syncs(self):
        """server_error*3 fails exactly the next three syncs (failure_count 1, 2, 3); the
        fourth succeeds and resets the health to HEALTHY."""
        connection_id, account = self.faulty_account("server_error*3")
        for count in (1, 2, 3):
            self.failed_sync(account["id"], 503, "unavailable")
            self.assertHealth(connection_id, account["id"], "FAILING", count,
                              SERVER_ERROR_MESSAGE)
        self.client.sync(account["id"])
        self.assertHealth(connection_id, account["id"], "HEALTHY", 0, None)

    def test_ten_consecutive_failures_make_the_account_dead(self):
        """Failures in a row count up under FAILING; the tenth makes account and connection
        DEAD (and further failures keep counting); one success brings both back to
        HEALTHY."""
        connection_id, account = self.faulty_account("timeout*always")
        for count in range(1, DEAD_AFTER_FAILURES + 2):
            self.failed_sync(account["id"], 503, "unavailable")
            expected = "DEAD" if count >= DEAD_AFTER_FAILURES else "FAILING"
            self.assertHealth(connection_id, account["id"], expected, count, TIMEOUT_MESSAGE)
        self.client.set_faults(connection_id, "")
        self.client.sync(account["id"])
        self.assertHealth(connection_id, account["id"], "HEALTHY", 0, None)

    def test_bank_rate_limit_is_429_with_retry_after(self):
        """The bank's 429 reaches the client as 429 too_many_requests with the bank's wait in
        Retry-After (the given seconds, or the plan's default 60), and marks the account
        FAILING with the bank's message; the consent is untouched."""
        for spec, seconds in (("rate_limit:120", 120), ("rate_limit", 60)):
            with self.subTest(spec):
                connection_id, account = self.faulty_account(spec)
                response = self.failed_sync(account["id"], 429, "too_many_requests")
                self.assertEqual(response.headers.get("retry-after"), str(seconds),
                                 response.headers)
                self.assertIn(throttled_message(seconds), response.body["detail"])
                _, connection = self.assertHealth(connection_id, account["id"], "FAILING", 1,
                                                  throttled_message(seconds))
                self.assertEqual(connection["status"], "LN")

    def test_consent_expiry_shows_as_expired_not_as_an_error(self):
        """An expired consent answers the sync 409 conflict naming the consent (not 500/503);
        the connection shows status EX with a status_message about the consent, and later
        syncs are refused with 409 without asking the bank. Reconfirming and approving links
        it again."""
        connection_id, account = self.faulty_account("consent_expired")
        response = self.failed_sync(account["id"], 409, "conflict")
        detail = response.body["detail"].lower()
        self.assertIn("consent", detail)
        self.assertIn("expired", detail)
        _, connection = self.assertHealth(connection_id, account["id"], "FAILING", 1,
                                          CONSENT_EXPIRED_MESSAGE)
        self.assertEqual(connection["status"], "EX")
        self.assertIn("consent", connection["status_message"].lower())
        self.assertIn("expired", connection["status_message"].lower())
        self.assertIn(connection_id, [c["id"] for c in self.client.data(
            "GET", "/api/v1/banks/connections") if c["status"] == "EX"])
        # Were the bank asked again, this plan would make it a 503.
        self.client.set_faults(connection_id, "server_error*always")
        again = self.failed_sync(account["id"], 409, "conflict")
        self.assertIn("reconfirm", again.body["detail"])
        self.assertHealth(connection_id, account["id"], "FAILING", 1, CONSENT_EXPIRED_MESSAGE)
        self.client.set_faults(connection_id, "")
        reconfirmed = self.client.data(
            "PUT", f"/api/v1/banks/connections/{connection_id}/reconfirm", {})
        self.assertEqual(reconfirmed["status"], "CR")
        self.assertEqual(reconfirmed["status_message"], "")
        approved = self.client.approve(connection_id)
        self.assertEqual(approved["status"], "LN")

    def test_fault_plan_validation(self):
        """A fault plan that does not parse is 422 naming `faults` (or `sandbox_faults` on
        creation), and changes nothing."""
        connection, _ = self.client.linked_connection(history_days=7)
        path = f"/api/v1/banks/connections/{connection['id']}/sandbox/faults"
        for label, body, field in (
                ("unknown kind", {"faults": "meteor"}, "faults"),
                ("count too large", {"faults": "server_error*1001"}, "faults"),
                ("rate limit of zero seconds", {"faults": "rate_limit:0"}, "faults"),
                ("seconds on a kind without them", {"faults": "timeout:5"}, "faults"),
                ("not a string", {"faults": 3}, "faults"),
                ("missing", {}, "faults")):
            with self.subTest(label):
                self.assertFieldError(self.client.call("PUT", path, body), field)
        self.assertFieldError(
            self.client.call("POST", "/api/v1/banks/connections",
                             {"bank_id": test_sync.DE_BANK, "sandbox_faults": "ok,,timeout"}),
            "sandbox_faults")

    # -- scheduled syncs -----------------------------------------------------------------------

    def test_scheduled_sync_retries_with_backoff_until_it_succeeds(self):
        """A scheduled sync that meets a counted transient fault (server_error*2, timeout*2)
        is retried by the job with backoff: the account is seen FAILING, then the third
        attempt succeeds and the account and connection are HEALTHY again."""
        for spec, message in (("server_error*2", SERVER_ERROR_MESSAGE),
                              ("timeout*2", TIMEOUT_MESSAGE)):
            with self.subTest(spec):
                connection_id, account = self.faulty_account(spec)
                last_synced = account["transactions_last_synced_at"]
                self.client.trigger_scheduled_sync(account["id"])
                seen = []

                def recovered():
                    current = self.client.account(account["id"])
                    health = current["health"]
                    if health["status"] != "HEALTHY":
                        seen.append((health["status"], health["failure_count"],
                                     health["integrator_message"]))
                    return (health["status"] == "HEALTHY" and
                            current["transactions_last_synced_at"] != last_synced)

                wait_for(f"the scheduled sync to get past {spec}", recovered,
                         SCHEDULED_SYNC_TIMEOUT_SECONDS, 0.01)
                self.assertTrue(seen, "the account never showed a failed attempt")
                for status, count, text in seen:
                    self.assertEqual(status, "FAILING")
                    self.assertIn(count, (1, 2))
                    self.assertEqual(text, message)
                self.assertHealth(connection_id, account["id"], "HEALTHY", 0, None)

                # The job records its outcome just after the sync: the next run is the
                # account's frequency (360 minutes by default) away, with fresh attempts.
                def rescheduled():
                    state, run_at_ms, attempts, _ = self.sync_job(account["id"])
                    return (state == "queued" and attempts == 0 and
                            run_at_ms > time.time() * 1000 + 350 * 60_000)
                wait_for("the job to be rescheduled at the account's frequency", rescheduled,
                         10.0)

    def test_scheduled_sync_falls_back_to_daily_after_quick_retries(self):
        """A scheduled sync that keeps failing is tried three times with backoff, then the job
        waits a day: the account stays FAILING with failure_count 3."""
        connection_id, account = self.faulty_account("server_error*always")
        self.client.trigger_scheduled_sync(account["id"])
        self.wait_for_health(account["id"], lambda h: h["failure_count"] >= QUICK_RETRIES,
                             "three failed scheduled attempts")

        def parked():
            state, run_at_ms, _, _ = self.sync_job(account["id"])
            return state == "queued" and run_at_ms > time.time() * 1000 + DAY_MS - 3_600_000
        wait_for("the job to be rescheduled a day later", parked, 10.0)
        self.assertHealth(connection_id, account["id"], "FAILING", QUICK_RETRIES,
                          SERVER_ERROR_MESSAGE)

    def test_scheduled_sync_waits_as_long_as_the_bank_rate_limit_says(self):
        """A scheduled sync throttled by the bank (rate_limit:600) marks the account FAILING
        with the bank's message and is retried no sooner than the bank asked."""
        connection_id, account = self.faulty_account("rate_limit:600")
        started_ms = time.time() * 1000
        self.client.trigger_scheduled_sync(account["id"])
        self.wait_for_health(account["id"], lambda h: h["status"] == "FAILING",
                             "the throttled scheduled sync")
        self.assertHealth(connection_id, account["id"], "FAILING", 1, throttled_message(600))

        def waiting():
            state, run_at_ms, _, _ = self.sync_job(account["id"])
            return state == "queued" and run_at_ms >= started_ms + 600_000
        wait_for("the job to wait out the bank's 600 s", waiting, 10.0)
        state, run_at_ms, _, _ = self.sync_job(account["id"])
        self.assertLess(run_at_ms, time.time() * 1000 + 700_000, "waits far longer than asked")

    def test_scheduled_sync_stops_on_consent_expiry(self):
        """A scheduled sync that finds the consent expired sets the connection to EX with a
        message about the consent and stops retrying: the user must reconfirm."""
        connection_id, account = self.faulty_account("consent_expired")
        self.client.trigger_scheduled_sync(account["id"])
        wait_for("the connection to show the expired consent",
                 lambda: self.client.connection(connection_id)["status"] == "EX",
                 SCHEDULED_SYNC_TIMEOUT_SECONDS)
        _, connection = self.assertHealth(connection_id, account["id"], "FAILING", 1,
                                          CONSENT_EXPIRED_MESSAGE)
        self.assertIn("consent", connection["status_message"].lower())

        def stopped():
            state, _, _, last_error = self.sync_job(account["id"])
            return state == "failed" and "consent" in (last_error or "").lower()
        wait_for("the sync job to stop", stopped, 10.0)


if __name__ == "__main__":
    unittest.main()
