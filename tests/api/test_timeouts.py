"""Connection timeouts: stalled clients are cut off without delaying anyone else."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

HEADER_TIMEOUT_MS = 1000
IDLE_TIMEOUT_MS = 2000
# The server must not close before the timeout (minus scheduling slack) nor long after it.
EARLIEST_CLOSE_SECONDS = 0.5
LATEST_CLOSE_SECONDS = 4.0


class HeaderTimeoutTest(harness.ServerTestCase):
    """A server with --header-timeout-ms 1000 and --idle-timeout-ms 2000."""

    SERVER_ARGUMENTS = ("--header-timeout-ms", str(HEADER_TIMEOUT_MS),
                        "--idle-timeout-ms", str(IDLE_TIMEOUT_MS))

    def open_stalled(self, partial):
        connection = self.server.raw_socket()
        self.addCleanup(connection.close)
        if partial:
            connection.sendall(partial)
        return connection

    def assertClosedInTime(self, connection, label):
        closed, data, waited = harness.wait_for_close(connection, LATEST_CLOSE_SECONDS + 2.0)
        self.assertTrue(closed, f"{label}: still open after {waited:.1f}s")
        self.assertGreaterEqual(waited, EARLIEST_CLOSE_SECONDS,
                                f"{label}: closed after only {waited:.2f}s")
        self.assertLessEqual(waited, LATEST_CLOSE_SECONDS, f"{label}: closed after {waited:.1f}s")
        if data:  # The server may say 408 before closing; anything else is wrong.
            self.assertTrue(data.startswith(b"HTTP/1.1 408"), f"{label}: sent {data[:200]!r}")

    def assertServesOthers(self):
        for _ in range(3):
            response = self.server.request("GET", "/healthz", timeout_seconds=2.0)
            self.assertEqual(response.status, 200, response)

    def test_stalled_headers_are_closed(self):
        """Half a header block, then silence: the server closes the socket after ~1 s."""
        cases = [
            ("half the headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
            ("half a request line", b"GET /heal"),
            ("half a header line", b"GET /healthz HTTP/1.1\r\nHost: x\r\nAccept: te"),
        ]
        for label, partial in cases:
            with self.subTest(label):
                connection = self.open_stalled(partial)
                self.assertServesOthers()
                self.assertClosedInTime(connection, label)

    def test_many_stalled_clients_do_not_block_others(self):
        """While 50 clients stall mid-headers, other clients are still answered promptly."""
        stalled = [self.open_stalled(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                   for _ in range(50)]
        started = time.monotonic()
        self.assertServesOthers()
        # All of them are well before their timeout here, so others were served meanwhile.
        self.assertLess(time.monotonic() - started, EARLIEST_CLOSE_SECONDS + 0.5)
        for index, connection in enumerate(stalled):
            closed, data, waited = harness.wait_for_close(connection, LATEST_CLOSE_SECONDS + 2.0)
            self.assertTrue(closed, f"stalled client {index} still open after {waited:.1f}s")
            if data:
                self.assertTrue(data.startswith(b"HTTP/1.1 408"), data[:200])
        self.assertLess(time.monotonic() - started, LATEST_CLOSE_SECONDS + 1.0)
        self.assertServesOthers()

    def test_trickled_headers_are_closed(self):
        """A client sending one header byte every 200 ms (slowloris) is still cut off in time:
        the header timeout bounds the whole header block, not the gap between bytes."""
        connection = self.open_stalled(None)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
        started = time.monotonic()
        for byte_index in range(len(request)):
            if time.monotonic() - started > LATEST_CLOSE_SECONDS + 2.0:
                break
            try:
                connection.sendall(request[byte_index:byte_index + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            closed, data, _ = harness.wait_for_close(connection, 0.2)
            if closed:
                break
        else:
            closed = False
        waited = time.monotonic() - started
        self.assertTrue(closed, f"trickling client still open after {waited:.1f}s")
        self.assertLessEqual(waited, LATEST_CLOSE_SECONDS)

    def test_idle_keep_alive_connection_is_closed(self):
        """After a complete exchange, an idle keep-alive connection is closed by the server."""
        connection = self.open_stalled(harness.build_request("GET", "/healthz"))
        response = harness.SocketReader(connection).read_response()
        self.assertEqual(response.status, 200)
        closed, data, waited = harness.wait_for_close(connection, IDLE_TIMEOUT_MS / 1000 + 4.0)
        self.assertTrue(closed, f"idle connection still open after {waited:.1f}s")
        self.assertGreaterEqual(waited, EARLIEST_CLOSE_SECONDS)
        self.assertLessEqual(waited, IDLE_TIMEOUT_MS / 1000 + 2.0)

    def test_complete_request_after_a_pause_within_the_timeout_is_served(self):
        """A client that pauses briefly (well under the timeout) mid-headers is still served."""
        connection = self.open_stalled(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(0.3)
        connection.sendall(b"Host: x\r\n\r\n")
        response = harness.SocketReader(connection).read_response()
        self.assertIsNotNone(response)
        self.assertEqual(response.status, 200)


if __name__ == "__main__":
    import unittest
    unittest.main()
