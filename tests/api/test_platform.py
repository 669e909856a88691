"""Platform guarantees every route shares: Idempotency-Key handling and per-token rate limits,
through the real server over HTTP."""

import concurrent.futures
import json
import time
import unittest

from tests.api import harness
from tests.api.test_sync import DE_BANK, BankClient, BankTestCase

KEYED_POSTS = 200


class IdempotencyTest(BankTestCase):

    def start(self, *arguments):
        server = harness.Server(["--access-log", "off", *arguments])
        self.addCleanup(server.close)
        server.create_user("alice@example.com")
        token = server.create_token("alice@example.com", "main", "read,write")["token"]
        server.start()
        return server, token

    def test_concurrent_identical_posts_create_one_object_with_identical_answers(self):
        """200 concurrent identical POSTs with one key create exactly one bank connection, and
        every answer has the same status and the same body; all but one are marked replays."""
        server, token = self.start()
        body = {"bank_id": DE_BANK}
        headers = {"Idempotency-Key": "create-connection-1"}

        def post(_):
            return server.request("POST", "/api/v1/banks/connections", token, body,
                                  headers=headers)
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(post, range(KEYED_POSTS)))
        statuses = {a.status for a in answers}
        self.assertEqual(statuses, {201}, [a for a in answers if a.status != 201][:1])
        bodies = {json.dumps(a.body, sort_keys=True) for a in answers}
        self.assertEqual(len(bodies), 1)
        replayed = [a for a in answers if a.headers.get("idempotency-replayed") == "true"]
        self.assertEqual(len(replayed), KEYED_POSTS - 1)
        listed = server.request("GET", "/api/v1/banks/connections", token)
        self.assertEqual(len(listed.body["data"]), 1)

    def test_same_key_with_a_different_request_is_422(self):
        """Reusing a key for a different body is refused with 422 and creates nothing."""
        server, token = self.start()
        headers = {"Idempotency-Key": "k"}
        first = server.request("POST", "/api/v1/banks/connections", token,
                               {"bank_id": DE_BANK}, headers=headers)
        self.assertEqual(first.status, 201)
        other = server.request("POST", "/api/v1/banks/connections", token,
                               {"bank_id": DE_BANK, "max_historical_days": 30},
                               headers=headers)
        harness.assert_problem(self, other, 422, "idempotency_key_reused")
        listed = server.request("GET", "/api/v1/banks/connections", token)
        self.assertEqual(len(listed.body["data"]), 1)

    def test_repeat_while_the_first_runs_is_409_without_waiting(self):
        """With --idempotency-wait-ms 0, a repeat that arrives while a long sync with the same
        key still runs gets 409 idempotency_key_in_use; after it ends, the repeat replays."""
        server, token = self.start("--idempotency-wait-ms", "0", "--rate-limit-sync", "0")
        client = BankClient(self, server, token)
        connection, accounts = client.linked_connection(history_days=730)
        account_id = accounts[0]["id"]
        path = f"/api/v1/banks/accounts/{account_id}/sync"
        body = {"date_from": "2000-01-01"}
        headers = {"Idempotency-Key": "sync-1"}

        def post(delay):
            time.sleep(delay)
            return server.request("POST", path, token, body, headers=headers)
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(post, [0.0] + [0.002] * 15))
        statuses = sorted(a.status for a in answers)
        self.assertIn(200, statuses)
        self.assertIn(409, statuses, statuses)
        for answer in answers:
            if answer.status == 409:
                harness.assert_problem(self, answer, 409, "idempotency_key_in_use")
        replay = server.request("POST", path, token, body, headers=headers)
        self.assertEqual(replay.status, 200)
        self.assertEqual(replay.headers.get("idempotency-replayed"), "true")

    def test_invalid_key_is_400(self):
        """A key longer than 255 characters is a 400 naming the header's rule."""
        server, token = self.start()
        answer = server.request("POST", "/api/v1/banks/connections", token,
                                {"bank_id": DE_BANK}, headers={"Idempotency-Key": "x" * 256})
        harness.assert_problem(self, answer, 400, "bad_request")


class RateLimitTest(BankTestCase):

    def test_exceeding_the_limit_gets_429_with_headers(self):
        """A token that sends more reads than its limit gets 429 with Retry-After and the
        RateLimit headers; every request within the limit was served."""
        server = harness.Server(["--access-log", "off", "--rate-limit-read", "30"])
        self.addCleanup(server.close)
        server.create_user("alice@example.com")
        token = server.create_token("alice@example.com", "main", "read")["token"]
        server.start()
        answers = [server.request("GET", "/api/v1/user", token) for _ in range(40)]
        served = [a for a in answers if a.status == 200]
        refused = [a for a in answers if a.status == 429]
        self.assertEqual(len(served), 30)
        self.assertEqual(len(refused), 10)
        self.assertEqual(answers[:30], served)
        for answer in served:
            self.assertEqual(answer.headers["ratelimit-policy"], '"read";q=30;w=60')
            self.assertRegex(answer.headers["ratelimit"], r'^"read";r=\d+;t=\d+$')
        harness.assert_problem(self, refused[0], 429, "too_many_requests")
        self.assertGreaterEqual(int(refused[0].headers["retry-after"]), 1)
        self.assertTrue(refused[0].headers["ratelimit"].startswith('"read";r=0;'))
        # Another token of the same user has its own bucket.
        other = server.create_token("alice@example.com", "second", "read")["token"]
        self.assertEqual(server.request("GET", "/api/v1/user", other).status, 200)

    def test_traffic_within_the_limit_is_never_refused(self):
        """Steady traffic below the refill rate (120 per minute = 2 per second) is never refused,
        even for longer than one window's worth of burst."""
        server = harness.Server(["--access-log", "off", "--rate-limit-read", "120"])
        self.addCleanup(server.close)
        server.create_user("alice@example.com")
        token = server.create_token("alice@example.com", "main", "read")["token"]
        server.start()
        started = time.monotonic()
        statuses = []
        for index in range(150):
            # 1.5 requests per second after an initial burst of 100.
            if index >= 100:
                time.sleep(max(0.0, started + (index - 100) / 1.5 - time.monotonic()))
            statuses.append(server.request("GET", "/api/v1/user", token).status)
        self.assertEqual(set(statuses), {200})


if __name__ == "__main__":
    unittest.main()
