// Stripe: the stripe library checks Stripe-Signature and parses the Event; data.object must be
// the object its type names, with exactly the members that the pinned stripe package declares
// for it in its TypeScript declarations (esm/resources/*.d.ts): every member not marked `?` is
// present, and no key is one the interface lacks.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import Stripe from "stripe";

const stripe = new Stripe("sk_test_hookctl_compat_check");

// Where each object's interface is declared, relative to the package's esm/resources/.
const INTERFACES = {
  payment_intent: ["PaymentIntents.d.ts", "PaymentIntent"],
  charge: ["Charges.d.ts", "Charge"],
  "checkout.session": ["Checkout/Sessions.d.ts", "Session"],
  customer: ["Customers.d.ts", "Customer"],
  subscription: ["Subscriptions.d.ts", "Subscription"],
  invoice: ["Invoices.d.ts", "Invoice"],
};
const OBJECT_OF = {
  "payment_intent.succeeded": "payment_intent", "payment_intent.payment_failed": "payment_intent",
  "charge.succeeded": "charge", "charge.refunded": "charge",
  "checkout.session.completed": "checkout.session", "customer.created": "customer",
  "customer.subscription.created": "subscription", "customer.subscription.updated": "subscription",
  "customer.subscription.deleted": "subscription", "invoice.paid": "invoice", "invoice.payment_failed": "invoice",
};

// The installed package's root: the nearest directory above its entry point that holds the
// package.json of "stripe" (the package does not export ./package.json).
function packageRoot(name) {
  let dir = path.dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).name === name) return dir;
    } catch {
      // no package.json here, or another package's; look further up
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the ${name} package's root`);
    dir = up;
  }
}
const STRIPE_ROOT = packageRoot("stripe");
const STRIPE_VERSION = JSON.parse(readFileSync(path.join(STRIPE_ROOT, "package.json"), "utf8")).version;

/** The top-level members of `export interface NAME {` in `source`: [{ name, optional }]. */
export function interfaceMembers(source, name) {
  const head = new RegExp(`^export interface ${name}\\s*\\{`, "m").exec(source);
  if (!head) throw new Error(`no \`export interface ${name}\``);
  const members = [];
  let depth = 1;
  let statement = "";
  for (let i = head.index + head[0].length; i < source.length; i++) {
    const c = source[i];
    if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      if (end < 0) throw new Error(`interface ${name}: unterminated comment`);
      i = end + 1;
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      i = end < 0 ? source.length : end;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = source.indexOf(c, i + 1);
      if (depth === 1) statement += source.slice(i, end + 1);
      i = end;
      continue;
    }
    if (c === "{" || c === "(" || c === "<" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]" || (c === ">" && source[i - 1] !== "=")) depth--;
    if (depth === 0) return members;
    if (depth === 1 && c === ";") {
      const m = /^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*|'[^']*'|"[^"]*")(\?)?\s*:/.exec(statement);
      if (m) members.push({ name: m[1].replace(/^['"]|['"]$/g, ""), optional: m[2] === "?" });
      statement = "";
    } else if (depth === 1 || (depth === 2 && "{(<[".includes(c))) {
      statement += c;
    }
  }
  throw new Error(`interface ${name}: no closing brace`);
}

const cache = new Map();
/** The members of the interface for the Stripe object `object` ("payment_intent", ...). */
function membersOf(object) {
  if (!cache.has(object)) {
    const [file, name] = INTERFACES[object];
    const source = readFileSync(path.join(STRIPE_ROOT, "esm", "resources", file), "utf8");
    const members = interfaceMembers(source, name);
    if (members.length < 5) throw new Error(`${file}: interface ${name} has ${members.length} members`);
    cache.set(object, members);
  }
  return cache.get(object);
}

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
  if (event.api_version !== Stripe.API_VERSION) {
    throw new Error(`api_version ${event.api_version}, but stripe ${STRIPE_VERSION} declares the objects of ${Stripe.API_VERSION}`);
  }
  const want = OBJECT_OF[event.type];
  if (!want) throw new Error(`unexpected type ${event.type}`);
  const object = event.data.object;
  if (object.object !== want) throw new Error(`${event.type}: data.object is a ${object.object}, not a ${want}`);
  const members = membersOf(want);
  const missing = members.filter((m) => !m.optional && !(m.name in object)).map((m) => m.name);
  const known = new Set(members.map((m) => m.name));
  const unknown = Object.keys(object).filter((k) => !known.has(k));
  const problems = [];
  if (missing.length) problems.push(`lacks ${missing.join(", ")}`);
  if (unknown.length) problems.push(`has fields stripe ${STRIPE_VERSION} does not declare: ${unknown.join(", ")}`);
  if (problems.length) throw new Error(`${event.type}: ${want} ${problems.join("; ")}`);
  const previous = event.data.previous_attributes;
  if (event.type.endsWith(".updated") || event.type === "charge.refunded") {
    if (!previous) throw new Error(`${event.type} has no previous_attributes`);
  }
  const unknownPrevious = Object.keys(previous || {}).filter((k) => !known.has(k));
  if (unknownPrevious.length) {
    throw new Error(`${event.type}: previous_attributes has fields a ${want} lacks: ${unknownPrevious.join(", ")}`);
  }
  if (want === "charge" && object.payment_intent !== undefined && !/^pi_/.test(object.payment_intent)) {
    throw new Error("charge.payment_intent is not a PaymentIntent id");
  }
  return `${event.type} ${event.id} signature ok, data.object is a ${want} as stripe ${STRIPE_VERSION} declares it`;
}
