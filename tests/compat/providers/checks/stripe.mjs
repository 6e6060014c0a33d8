// Stripe: the stripe library checks Stripe-Signature and parses the Event; data.object must be
// the documented object with the fields Stripe's API reference lists for it.
import Stripe from "stripe";

const stripe = new Stripe("sk_test_hookctl_compat_check");

// Fields from the API reference of each object (https://docs.stripe.com/api).
const FIELDS = {
  payment_intent: ["id", "object", "amount", "amount_capturable", "amount_received", "capture_method", "client_secret", "confirmation_method", "created", "currency", "customer", "description", "last_payment_error", "latest_charge", "livemode", "metadata", "next_action", "payment_method", "payment_method_types", "receipt_email", "setup_future_usage", "shipping", "statement_descriptor", "status"],
  charge: ["id", "object", "amount", "amount_captured", "amount_refunded", "balance_transaction", "billing_details", "captured", "created", "currency", "customer", "description", "disputed", "failure_code", "failure_message", "livemode", "metadata", "outcome", "paid", "payment_intent", "payment_method", "payment_method_details", "receipt_email", "receipt_url", "refunded", "status"],
  "checkout.session": ["id", "object", "amount_subtotal", "amount_total", "client_reference_id", "created", "currency", "customer", "customer_details", "expires_at", "invoice", "livemode", "metadata", "mode", "payment_intent", "payment_status", "status", "success_url", "total_details", "url"],
  customer: ["id", "object", "address", "balance", "created", "currency", "default_source", "delinquent", "description", "email", "invoice_prefix", "invoice_settings", "livemode", "metadata", "name", "phone", "preferred_locales", "shipping", "tax_exempt"],
  subscription: ["id", "object", "billing_cycle_anchor", "cancel_at", "cancel_at_period_end", "canceled_at", "collection_method", "created", "currency", "customer", "default_payment_method", "items", "latest_invoice", "livemode", "metadata", "start_date", "status", "trial_end", "trial_start"],
  invoice: ["id", "object", "account_country", "amount_due", "amount_paid", "amount_remaining", "attempt_count", "attempted", "billing_reason", "collection_method", "created", "currency", "customer", "customer_email", "hosted_invoice_url", "invoice_pdf", "lines", "livemode", "metadata", "number", "period_end", "period_start", "status", "status_transitions", "subtotal", "total"],
};
const OBJECT_OF = {
  "payment_intent.succeeded": "payment_intent", "payment_intent.payment_failed": "payment_intent",
  "charge.succeeded": "charge", "charge.refunded": "charge",
  "checkout.session.completed": "checkout.session", "customer.created": "customer",
  "customer.subscription.created": "subscription", "customer.subscription.updated": "subscription",
  "customer.subscription.deleted": "subscription", "invoice.paid": "invoice", "invoice.payment_failed": "invoice",
};

export async function checkStripe(req, body, secret) {
  const h = req.headers;
  if (!/^Stripe\/1\.0 \(\+https:\/\/stripe\.com\/docs\/webhooks\)$/.test(h["user-agent"] || "")) {
    throw new Error(`user-agent ${h["user-agent"]}`);
  }
  if (!/^application\/json/.test(h["content-type"] || "")) throw new Error(`content-type ${h["content-type"]}`);
  const event = stripe.webhooks.constructEvent(body, h["stripe-signature"], secret);
  if (event.object !== "event") throw new Error(`object is ${event.object}`);
  for (const f of ["id", "api_version", "created", "data", "livemode", "pending_webhooks", "request", "type"]) {
    if (!(f in event)) throw new Error(`the Event has no ${f}`);
  }
  if (!/^evt_/.test(event.id)) throw new Error(`event id ${event.id}`);
  const want = OBJECT_OF[event.type];
  if (!want) throw new Error(`unexpected type ${event.type}`);
  const object = event.data.object;
  if (object.object !== want) throw new Error(`${event.type}: data.object is a ${object.object}, not a ${want}`);
  const missing = FIELDS[want].filter((f) => !(f in object));
  if (missing.length) throw new Error(`${event.type}: ${want} lacks ${missing.join(", ")}`);
  if (event.type.endsWith(".updated") || event.type === "charge.refunded") {
    if (!event.data.previous_attributes) throw new Error(`${event.type} has no previous_attributes`);
  }
  if (want === "charge" && object.payment_intent !== undefined && !/^pi_/.test(object.payment_intent)) {
    throw new Error("charge.payment_intent is not a PaymentIntent id");
  }
  return `${event.type} ${event.id} signature ok, data.object is a ${want}`;
}
