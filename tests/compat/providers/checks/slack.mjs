// Slack: Bolt's own request verification (signature and timestamp) and a Bolt app that
// answers url_verification with its challenge, handles app_mention and message events and a
// slash command. The check forwards the request unchanged to that app and reads its answer.
import bolt from "@slack/bolt";

const { App, HTTPReceiver, verifySlackRequest } = bolt;

export async function startBolt(secret) {
  const receiver = new HTTPReceiver({
    signingSecret: secret,
    endpoints: "/slack/events",
    // Listeners finish before the answer, so the check knows what they handled.
    processBeforeResponse: true,
  });
  const handled = [];
  const app = new App({
    receiver,
    // Answers locally: with a plain token Bolt would call Slack's auth.test over the network.
    authorize: async () => ({ botToken: "xoxb-hookctl-compat", botId: "B0HOOKBOT", botUserId: "U0HOOKBOT" }),
    logLevel: process.env.BOLT_LOG || "error",
  });
  app.event("app_mention", async ({ event }) => handled.push(`app_mention:${event.channel}`));
  app.message(async ({ message }) => handled.push(`message:${message.channel}`));
  app.command("/deploy", async ({ ack, command }) => {
    handled.push(`command:${command.command}`);
    await ack();
  });
  const server = await app.start({ port: 0, host: "127.0.0.1" });
  const port = server.address().port;
  return { port, handled };
}

export async function checkSlack(req, body, secret, bolt) {
  const headers = req.headers;
  // The SDK's verifier, as a Slack app calls it (throws on a bad signature or stale time).
  verifySlackRequest({
    signingSecret: secret,
    body,
    headers: {
      "x-slack-signature": headers["x-slack-signature"],
      "x-slack-request-timestamp": Number(headers["x-slack-request-timestamp"]),
    },
  });
  const before = bolt.handled.length;
  const answer = await fetch(`http://127.0.0.1:${bolt.port}/slack/events`, {
    method: "POST",
    headers: {
      "content-type": headers["content-type"],
      "x-slack-signature": headers["x-slack-signature"],
      "x-slack-request-timestamp": headers["x-slack-request-timestamp"],
    },
    body,
  });
  const text = await answer.text();
  if (answer.status !== 200) throw new Error(`the Bolt app answered ${answer.status}: ${text}`);
  if ((headers["content-type"] || "").startsWith("application/json")) {
    const payload = JSON.parse(body);
    if (payload.type === "url_verification") {
      const echoed = JSON.parse(text).challenge;
      if (echoed !== payload.challenge) throw new Error(`challenge not echoed: ${text}`);
      return `url_verification: Bolt echoed the challenge`;
    }
  }
  if (bolt.handled.length === before) throw new Error("no Bolt listener handled it");
  return `verified; Bolt handled ${bolt.handled[bolt.handled.length - 1]}`;
}
