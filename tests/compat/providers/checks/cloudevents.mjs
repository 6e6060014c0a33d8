// CloudEvents: the SDK's HTTP binding reads the request in binary or structured mode and
// validates the event against the 1.0 spec.
import { HTTP } from "cloudevents";

export async function checkCloudEvents(req, body) {
  const event = HTTP.toEvent({ headers: req.headers, body });
  event.validate();
  if (event.specversion !== "1.0") throw new Error(`specversion ${event.specversion}`);
  const mode = (req.headers["content-type"] || "").startsWith("application/cloudevents+json") ? "structured" : "binary";
  if (event.data === undefined && event.data_base64 === undefined) throw new Error("no data");
  return `${mode} ${event.type} from ${event.source} id ${event.id} valid`;
}
