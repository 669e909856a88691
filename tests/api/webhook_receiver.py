"""A local receiver for finsync's webhook deliveries, as a user's server would run one.

It verifies every request's Standard Webhooks signature (HMAC-SHA256 over
"<webhook-id>.<webhook-timestamp>.<body>" with the base64-decoded "whsec_" secret), can answer
failures on demand (an outage), and keeps every request it saw and every one it accepted, so
tests can check that each delivery arrived exactly once."""
import base64
import hashlib
import hmac
import http.server
import json
import threading


class WebhookReceiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.secret = None            # "whsec_..."; set before deliveries arrive.
        self.fail_status = None       # When set, every request is answered with this status.
        self.requests = []            # (webhook_id, body, headers, signature_ok) of every request.
        self.accepted = {}            # webhook_id -> body of each accepted delivery.
        self.accepted_counts = {}     # webhook_id -> how many times it was accepted.
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *arguments):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                status = receiver._receive(raw, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/finsync"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def signature_valid(self, webhook_id, timestamp, body, header):
        if not self.secret or not header:
            return False
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        message = f"{webhook_id}.{timestamp}.".encode() + body
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return any(part == f"v1,{expected}" for part in header.split(" "))

    def _receive(self, raw, headers):
        webhook_id = headers.get("webhook-id", "")
        valid = self.signature_valid(webhook_id, headers.get("webhook-timestamp", ""), raw,
                                     headers.get("webhook-signature", ""))
        with self.lock:
            self.requests.append((webhook_id, raw, headers, valid))
            if self.fail_status is not None:
                return self.fail_status
            if not valid:
                return 401
            self.accepted[webhook_id] = json.loads(raw)
            self.accepted_counts[webhook_id] = self.accepted_counts.get(webhook_id, 0) + 1
            return 200

    def snapshot(self):
        with self.lock:
            return dict(self.accepted), dict(self.accepted_counts), list(self.requests)
