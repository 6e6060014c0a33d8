// Shopify: @shopify/shopify-api's webhook validation (HMAC and the required headers).
import "@shopify/shopify-api/adapters/node";
import { shopifyApi, ApiVersion } from "@shopify/shopify-api";

let api = null;
function shopify(secret) {
  if (!api) {
    api = shopifyApi({
      apiKey: "hookctl-compat",
      apiSecretKey: secret,
      scopes: ["read_orders"],
      hostName: "127.0.0.1",
      apiVersion: ApiVersion.July25,
      isEmbeddedApp: false,
      logger: { level: 0 },
    });
  }
  return api;
}

export async function checkShopify(req, body, secret, res) {
  const result = await shopify(secret).webhooks.validate({ rawBody: body, rawRequest: req, rawResponse: res });
  if (!result.valid) throw new Error(`invalid: ${JSON.stringify(result)}`);
  for (const name of ["x-shopify-event-id", "x-shopify-triggered-at"]) {
    if (!req.headers[name]) throw new Error(`missing ${name}`);
  }
  const payload = JSON.parse(body);
  if (typeof payload.id !== "number" && result.topic !== "APP_UNINSTALLED") throw new Error("the payload has no numeric id");
  return `${result.topic} from ${result.domain} (API ${result.apiVersion}, webhook ${result.webhookId}) valid`;
}
