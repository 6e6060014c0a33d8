// A receiver that checks hookctl's provider samples with the providers' own libraries.
//
//   node server.mjs SECRET
//
// Listens on 127.0.0.1 (a port the OS picks) and prints `listening PORT`. Each request is
// checked by the library for its path (/github, /stripe, /shopify, /slack, /standard,
// /cloudevents) and answered 200 with `ok ...`, or 400 with what the library rejected; the same
// line goes to stdout (`ok PATH ...` or `FAIL PATH ...`). tests/cli/samples.rs drives it.
import http from "node:http";
import { checkGithub, prepareGithub } from "./checks/github.mjs";
import { checkStripe } from "./checks/stripe.mjs";
import { checkShopify } from "./checks/shopify.mjs";
import { checkSlack, startBolt } from "./checks/slack.mjs";
import { checkStandard } from "./checks/standard.mjs";
import { checkCloudEvents } from "./checks/cloudevents.mjs";

const secret = process.argv[2];
if (!secret) {
  console.error("usage: node server.mjs SECRET");
  process.exit(2);
}

prepareGithub();
const bolt = await startBolt(secret);

const checks = {
  "/github": checkGithub,
  "/stripe": checkStripe,
  "/shopify": checkShopify,
  "/slack": (req, body, secret) => checkSlack(req, body, secret, bolt),
  "/standard": checkStandard,
  "/cloudevents": checkCloudEvents,
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const path = new URL(req.url, "http://127.0.0.1").pathname;
    const check = checks[path];
    let line;
    let status = 200;
    try {
      if (!check) throw new Error(`no check at ${path}`);
      const what = await check(req, body, secret, res);
      line = `ok ${path} ${what}`;
    } catch (e) {
      status = 400;
      line = `FAIL ${path} ${e && e.message ? e.message : e}`.replace(/\s+/g, " ");
    }
    console.log(line);
    if (!res.headersSent) {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(line + "\n");
    }
  });
});
server.requestTimeout = 10000;
server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
