#!/usr/bin/env python3
"""A latchkey webhook receiver (Python standard library only).

Checks each delivery before trusting it:
  1. Latchkey-Timestamp is within 5 minutes of this machine's clock
     (an old request replayed later is refused);
  2. Latchkey-Signature is v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>,
     compared in constant time;
  3. Latchkey-Webhook-Id was not handled before: delivery is at least
     once, so the same event may arrive again after a lost answer.
Then it answers 2xx: anything else makes latchkey retry.

    WEBHOOK_SECRET=... python3 receiver.py 8000

Each event handled is printed as one JSON line.
"""

import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()
WINDOW = 300  # seconds either side of now
MAX_BODY = 64 * 1024

seen = set()  # delivery ids handled (keep them longer than latchkey retries)
seen_lock = threading.Lock()


def verified(headers, body):
    timestamp = headers.get("Latchkey-Timestamp", "")
    signature = headers.get("Latchkey-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW:
        return False
    mac = hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + mac.hexdigest(), signature)


def handle(delivery, event):
    """Your code: act on the event (here, print it)."""
    print(json.dumps({"delivery": delivery, "event": event}), flush=True)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413)
        body = self.rfile.read(length)
        if not verified(self.headers, body):
            return self.answer(401)
        delivery = self.headers.get("Latchkey-Webhook-Id", "")
        with seen_lock:
            first = delivery not in seen
            seen.add(delivery)
        if first:
            handle(delivery, json.loads(body))
        self.answer(204)

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    print(f"listening {port}", flush=True)
    server.serve_forever()
