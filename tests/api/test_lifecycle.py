"""Process lifecycle: graceful SIGTERM, restarts, and durability of acknowledged writes."""

import http.client
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

SHUTDOWN_LIMIT_SECONDS = 10.0
# No response at all (refused, reset, closed before the status line): allowed during shutdown.
CONNECTION_FAILURES = (OSError, http.client.RemoteDisconnected)


class LifecycleTest(unittest.TestCase):
    """Each test starts its own server, since each one stops or kills it."""

    def start_server(self, email="lee@example.com"):
        server = harness.Server()
        self.addCleanup(server.close)
        server.create_user(email, "Lee")
        token = server.create_token(email, "main", "read,write")["token"]
        server.start()
        return server, token

    def test_sigterm_finishes_a_request_whose_body_is_still_arriving(self):
        """SIGTERM while a request body is half sent: the server stops accepting new
        connections, still answers the in-flight request with 201, then exits 0."""
        server, token = self.start_server()
        body = b'{"name": "in-flight", "scopes": ["read"]}'
        connection = server.raw_socket(timeout_seconds=SHUTDOWN_LIMIT_SECONDS)
        self.addCleanup(connection.close)
        request = harness.build_request("POST", "/api/v1/tokens", token, body)
        split = len(request) - len(body) // 2
        connection.sendall(request[:split])
        time.sleep(0.3)  # Let the server read the headers and start on the body.
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertTrue(server.running, "server exited with a request in flight")
        try:
            late = server.request("GET", "/healthz", timeout_seconds=2.0)
            self.fail(f"a new connection was served after SIGTERM: {late.status}")
        except (CONNECTION_FAILURES + (TimeoutError,)):
            pass  # Refused, reset or ignored: not accepted.
        connection.sendall(request[split:])
        response = harness.SocketReader(connection).read_response("POST")
        self.assertIsNotNone(response, "in-flight request dropped on SIGTERM")
        self.assertEqual(response.status, 201, response)
        self.assertEqual(server.wait(SHUTDOWN_LIMIT_SECONDS), 0, server.logs())

    def test_sigterm_under_load_gives_only_complete_responses(self):
        """SIGTERM under concurrent load: every response that arrives is complete and valid,
        and the process exits 0 within 10 s."""
        server, token = self.start_server()
        stop = threading.Event()
        lock = threading.Lock()
        outcomes = {"complete": 0, "refused": 0}
        problems = []

        def client(index):
            connection = server.connection(timeout_seconds=SHUTDOWN_LIMIT_SECONDS)
            while not stop.is_set():
                method, path, body = (("POST", "/api/v1/tokens",
                                       {"name": f"load-{index}", "scopes": ["read"]})
                                      if index % 2 else ("GET", "/api/v1/user", None))
                try:
                    response = harness.request_on(connection, method, path, token, body)
                except http.client.IncompleteRead as error:
                    with lock:
                        problems.append(f"{method} {path}: truncated body {error!r}")
                    break
                except CONNECTION_FAILURES:
                    with lock:
                        outcomes["refused"] += 1
                    connection.close()
                    if not server.running:
                        break
                    time.sleep(0.01)
                    continue
                except http.client.HTTPException as error:  # A garbled response.
                    with lock:
                        problems.append(f"{method} {path}: {error!r}")
                    break
                expected = 201 if method == "POST" else 200
                valid = response.status == expected and isinstance(response.body, dict) \
                    and isinstance(response.body.get("data"), dict)
                with lock:
                    if valid:
                        outcomes["complete"] += 1
                    else:
                        problems.append(f"{method} {path}: {response}")
            connection.close()

        threads = [threading.Thread(target=client, args=(index,), daemon=True)
                   for index in range(16)]
        for thread in threads:
            thread.start()
        time.sleep(0.7)
        completed_before_signal = outcomes["complete"]
        server.signal(signal.SIGTERM)
        exit_code = server.wait(SHUTDOWN_LIMIT_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(SHUTDOWN_LIMIT_SECONDS)
        self.assertEqual(exit_code, 0, f"exit code after SIGTERM\n{server.logs()}")
        self.assertGreater(completed_before_signal, 0, "no request succeeded before SIGTERM")
        self.assertEqual(problems, [])

    def test_restart_keeps_users_and_tokens(self):
        """Users and tokens survive a graceful restart on the same database file."""
        server, token = self.start_server()
        response = server.request("POST", "/api/v1/tokens", token,
                                  {"name": "kept", "scopes": ["read"]})
        self.assertEqual(response.status, 201, response)
        created = response.body["data"]
        before = server.request("GET", "/api/v1/tokens", token).body["data"]
        self.assertEqual(server.stop(), 0, server.logs())
        server.start()
        user = server.request("GET", "/api/v1/user", created["token"])
        self.assertEqual(user.status, 200, user)
        self.assertEqual(user.body["data"]["email"], "lee@example.com")
        after = server.request("GET", "/api/v1/tokens", token).body["data"]
        self.assertEqual({t["id"] for t in after}, {t["id"] for t in before})
        self.assertEqual({t["name"] for t in after}, {t["name"] for t in before})

    def test_acknowledged_tokens_survive_kill_9(self):
        """kill -9 during a burst of token creations: every token answered 201 still works
        after a restart (an acknowledged write is durable)."""
        server, token = self.start_server()
        stop = threading.Event()
        lock = threading.Lock()
        acknowledged = []

        def creator(index):
            connection = server.connection(timeout_seconds=5.0)
            sequence = 0
            while not stop.is_set():
                sequence += 1
                body = {"name": f"burst-{index}-{sequence}", "scopes": ["read"]}
                try:
                    response = harness.request_on(connection, "POST", "/api/v1/tokens", token,
                                                  body)
                except (CONNECTION_FAILURES + (http.client.HTTPException,)):
                    break  # The server died; whatever was not acknowledged may be lost.
                if response.status == 201:
                    with lock:
                        acknowledged.append(response.body["data"]["token"])
            connection.close()

        threads = [threading.Thread(target=creator, args=(index,), daemon=True)
                   for index in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        server.kill9()
        stop.set()
        for thread in threads:
            thread.join(10.0)
        with lock:
            secrets = list(acknowledged)
        self.assertGreater(len(secrets), 0, "no token creation was acknowledged")
        server.start()
        failed = [secret[:12] for secret in secrets
                  if server.request("GET", "/api/v1/user", secret).status != 200]
        self.assertEqual(failed, [], f"{len(failed)} of {len(secrets)} acknowledged tokens lost")
        listed = server.request("GET", "/api/v1/tokens", token)
        self.assertGreaterEqual(listed.body["meta"]["total"], len(secrets) + 1)


if __name__ == "__main__":
    unittest.main()
