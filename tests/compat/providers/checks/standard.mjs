// Standard Webhooks: the reference library's verify (webhook-id, -timestamp, -signature).
import { Webhook } from "standardwebhooks";

export async function checkStandard(req, body, secret) {
  const base64 = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  const wh = new Webhook(base64);
  const payload = wh.verify(body, {
    "webhook-id": req.headers["webhook-id"],
    "webhook-timestamp": req.headers["webhook-timestamp"],
    "webhook-signature": req.headers["webhook-signature"],
  });
  for (const f of ["type", "timestamp", "data"]) {
    if (!(f in payload)) throw new Error(`the payload has no ${f}`);
  }
  return `${payload.type} ${req.headers["webhook-id"]} verified`;
}
