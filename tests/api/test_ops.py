"""Operations surface: health, readiness, metrics, request ids, CLI help and env config."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

SAMPLE_PATTERN = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
LABEL_PATTERN = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> list of (name, labels dict, float value)."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = SAMPLE_PATTERN.match(line.strip())
        if match is None:
            raise AssertionError(f"unparseable metrics line: {line!r}")
        labels = dict(LABEL_PATTERN.findall(match.group(3) or ""))
        samples.append((match.group(1), labels, float(match.group(4))))
    return samples


def metric_value(samples, name, **labels):
    """Sum of the samples called `name` whose labels include `labels` (0 when absent)."""
    return sum(value for sample_name, sample_labels, value in samples
               if sample_name == name and labels.items() <= sample_labels.items())


class OpsTest(harness.ServerTestCase):
    """One server; frank has a read+write token."""

    @classmethod
    def prepare(cls, server):
        server.create_user("frank@example.com", "Frank")
        cls.token = server.create_token("frank@example.com", "main", "read,write")["token"]

    def metrics(self):
        response = self.server.request("GET", "/metrics")
        self.assertEqual(response.status, 200, response)
        self.assertTrue(response.headers["content-type"].startswith("text/plain"), response)
        return parse_metrics(response.raw.decode())

    def test_health_and_readiness(self):
        """/healthz and /readyz answer 200 JSON without authentication."""
        cases = [("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})]
        for path, expected in cases:
            with self.subTest(path):
                response = self.server.request("GET", path)
                self.assertEqual(response.status, 200, response)
                self.assertTrue(response.headers["content-type"].startswith("application/json"))
                self.assertEqual(response.body, expected)

    def test_request_counter_counts_each_request(self):
        """finsync_http_requests_total{route,method,status} grows by exactly the requests made."""
        user_labels = {"route": "/api/v1/user", "method": "GET", "status": "200"}
        denied_labels = {"route": "/api/v1/user", "method": "GET", "status": "401"}
        before = self.metrics()
        for _ in range(3):
            self.assertEqual(self.server.request("GET", "/api/v1/user", self.token).status, 200)
        self.assertEqual(self.server.request("GET", "/api/v1/user").status, 401)
        expected_ok = metric_value(before, "finsync_http_requests_total", **user_labels) + 3
        expected_denied = metric_value(before, "finsync_http_requests_total",
                                       **denied_labels) + 1
        deadline = time.monotonic() + 2.0  # Counters may be bumped after the response is sent.
        while True:
            after = self.metrics()
            ok = metric_value(after, "finsync_http_requests_total", **user_labels)
            denied = metric_value(after, "finsync_http_requests_total", **denied_labels)
            if (ok, denied) == (expected_ok, expected_denied) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(ok, expected_ok)
        self.assertEqual(denied, expected_denied)

    def test_duration_histogram_is_consistent(self):
        """The duration histogram has cumulative buckets ending in +Inf that equal _count."""
        for _ in range(2):
            self.server.request("GET", "/api/v1/user", self.token)
        time.sleep(0.1)
        samples = self.metrics()
        name = "finsync_http_request_duration_seconds"
        labels = {"route": "/api/v1/user", "method": "GET"}
        buckets = sorted(
            ((float(sample_labels["le"]), value) for sample_name, sample_labels, value in samples
             if sample_name == name + "_bucket" and labels.items() <= sample_labels.items()),
            key=lambda bucket: bucket[0])
        self.assertGreater(len(buckets), 1, "no buckets for GET /api/v1/user")
        self.assertEqual(buckets[-1][0], float("inf"), "last bucket is not +Inf")
        counts = [value for _, value in buckets]
        self.assertEqual(counts, sorted(counts), "bucket counts are not cumulative")
        count = metric_value(samples, name + "_count", **labels)
        self.assertEqual(buckets[-1][1], count)
        self.assertGreaterEqual(count, 2)
        self.assertEqual(count, metric_value(samples, "finsync_http_requests_total", **labels))
        total_seconds = metric_value(samples, name + "_sum", **labels)
        self.assertGreater(total_seconds, 0.0)
        self.assertLess(total_seconds, 60.0 * count)

    def test_every_response_has_a_unique_request_id(self):
        """X-Request-Id is on every kind of response and never repeats."""
        cases = [
            ("GET", "/healthz", None, None, 200),
            ("GET", "/readyz", None, None, 200),
            ("GET", "/metrics", None, None, 200),
            ("GET", "/api/v1/user", self.token, None, 200),
            ("GET", "/api/v1/user", None, None, 401),
            ("GET", "/no/such/path", self.token, None, 404),
            ("PUT", "/api/v1/tokens", self.token, {}, 405),
            ("POST", "/api/v1/tokens", self.token, {"name": ""}, 422),
            ("POST", "/api/v1/tokens", self.token, {"name": "t", "scopes": ["read"]}, 201),
        ]
        seen = set()
        for method, path, token, body, status in cases * 5:
            with self.subTest(f"{method} {path}"):
                response = self.server.request(method, path, token, body)
                self.assertEqual(response.status, status, response)
                request_id = response.headers.get("x-request-id")
                self.assertTrue(request_id, f"no X-Request-Id on {method} {path}")
                self.assertNotIn(request_id, seen)
                seen.add(request_id)
        self.assertEqual(len(seen), len(cases) * 5)

    def test_no_content_response_has_request_id(self):
        """Even a 204 with no body carries X-Request-Id."""
        created = self.server.request("POST", "/api/v1/tokens", self.token,
                                      {"name": "gone", "scopes": ["read"]}).body["data"]
        response = self.server.request("DELETE", f"/api/v1/tokens/{created['id']}", self.token)
        self.assertEqual(response.status, 204)
        self.assertTrue(response.headers.get("x-request-id"))


class CliHelpTest(unittest.TestCase):
    """Every subcommand documents itself with --help and exits 0."""

    def test_help(self):
        """`--help` works for the program and each subcommand and mentions its flags."""
        cases = [
            ((), ["serve", "user", "token"]),
            (("serve",), ["--db", "--host", "--port", "--threads", "--body-limit-bytes",
                          "--header-timeout-ms", "--idle-timeout-ms", "--request-timeout-ms",
                          "--access-log", "--mode"]),
            (("user", "create"), ["--db", "--email", "--name"]),
            (("token", "create"), ["--db", "--user", "--name", "--scopes", "--expires-at"]),
            (("token", "list"), ["--db", "--user"]),
            (("token", "revoke"), ["--db", "--user", "--id"]),
        ]
        for command, mentions in cases:
            with self.subTest(" ".join(command) or "finsync"):
                completed = harness.run_cli(*command, "--help")
                self.assertEqual(completed.returncode, 0, completed)
                for word in mentions:
                    self.assertIn(word, completed.stdout)


class EnvironmentConfigTest(unittest.TestCase):
    """Flags can come from FINSYNC_* environment variables instead of the command line."""

    def test_serve_from_environment(self):
        """A server configured only by FINSYNC_DB/HOST/PORT/MODE starts and serves."""
        server = harness.Server(flags_from_environment=True,
                                environment={"FINSYNC_MODE": "production"})
        self.addCleanup(server.close)
        # The CLI takes its database (and the token's mode) from the environment too.
        cli_environment = {"FINSYNC_DB": server.db_path, "FINSYNC_MODE": "production"}
        harness.cli("user", "create", "--email", "gina@example.com", environment=cli_environment)
        token = harness.cli("token", "create", "--user", "gina@example.com", "--name", "env",
                            environment=cli_environment)["token"]
        self.assertTrue(token.startswith("fs_live_"), token)
        server.start()
        response = server.request("GET", "/api/v1/user", token)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body["data"]["email"], "gina@example.com")
        self.assertEqual(response.body["data"]["mode"], "production")
        self.assertTrue(os.path.exists(server.db_path), "FINSYNC_DB was not used")


if __name__ == "__main__":
    unittest.main()
