// GitHub: @octokit/webhooks verifies the signature and dispatches to a handler for the event
// and action; the payload must validate against @octokit/webhooks-schemas.
import { createRequire } from "node:module";
import { Webhooks } from "@octokit/webhooks";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const schema = require("@octokit/webhooks-schemas/schema.json");
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(schema, "github");

// Compiling the schemas takes seconds: do it before the server reports that it listens.
const DEFINITIONS = ["ping$event", "push$event", "pull_request$opened", "pull_request$synchronize",
  "pull_request$closed", "issues$opened", "issue_comment$created", "release$published",
  "workflow_run$completed", "check_run$completed"];
export function prepareGithub() {
  for (const d of DEFINITIONS) ajv.getSchema(`github#/definitions/${d}`);
}

export async function checkGithub(req, body, secret) {
  const h = req.headers;
  for (const name of ["x-github-event", "x-github-delivery", "x-github-hook-id",
    "x-github-hook-installation-target-type", "x-github-hook-installation-target-id",
    "x-hub-signature-256", "x-hub-signature"]) {
    if (!h[name]) throw new Error(`missing ${name}`);
  }
  if (!/^GitHub-Hookshot\//.test(h["user-agent"] || "")) throw new Error(`user-agent ${h["user-agent"]}`);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(h["x-github-delivery"])) {
    throw new Error(`X-GitHub-Delivery is not a UUID: ${h["x-github-delivery"]}`);
  }
  const name = h["x-github-event"];
  const payload = JSON.parse(body);
  const full = payload.action ? `${name}.${payload.action}` : name;
  const webhooks = new Webhooks({ secret });
  let dispatched = null;
  webhooks.on(full, (event) => {
    dispatched = `${event.name}${event.payload.action ? "." + event.payload.action : ""}`;
  });
  await webhooks.verifyAndReceive({
    id: h["x-github-delivery"],
    name,
    payload: body,
    signature: h["x-hub-signature-256"],
  });
  if (dispatched !== full) throw new Error(`the handler for ${full} did not run`);
  const definition = payload.action ? `${name}$${payload.action}` : `${name}$event`;
  const validate = ajv.getSchema(`github#/definitions/${definition}`);
  if (!validate) throw new Error(`no schema ${definition}`);
  if (!validate(payload)) {
    const errors = validate.errors.slice(0, 5).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    throw new Error(`schema ${definition}: ${errors.join("; ")}`);
  }
  return `${full} verified, dispatched and valid against ${definition}`;
}
