// Verifies one webhook delivery with the Standard Webhooks reference library, the way a
// receiver would. Reads {"secret", "body", "headers"} as JSON on stdin; prints {"ok": true,
// "payload": ...} or {"ok": false, "error": "..."} and exits 0 either way (1 on bad input).
import { Webhook } from "standardwebhooks";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
let request;
try {
  request = JSON.parse(input);
} catch (error) {
  console.error(`verify_webhook: stdin is not JSON: ${error.message}`);
  process.exit(1);
}
try {
  const payload = new Webhook(request.secret).verify(request.body, request.headers);
  console.log(JSON.stringify({ ok: true, payload }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error.message || error) }));
}
