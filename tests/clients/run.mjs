// node run.mjs CLIENT API_URL < config.json
// CLIENT: graphql-ws, apollo, urql, urql-sse (subscriptions over Server-Sent Events) or
// subscriptions-transport-ws; the config names the
// buyer's e-mail and password, a vehicle to order and another buyer's order.
import { readFileSync } from "node:fs";
import { emit, run } from "./scenario.mjs";

const CLIENTS = {
  "graphql-ws": () => import("./graphql_ws_client.mjs"),
  apollo: () => import("./apollo_client.mjs"),
  urql: () => import("./urql_client.mjs"),
  "urql-sse": () => import("./urql_sse_client.mjs"),
  "subscriptions-transport-ws": () => import("./legacy_client.mjs"),
};

const [name, apiUrl] = process.argv.slice(2);
if (!CLIENTS[name] || !apiUrl) {
  console.error(`usage: node run.mjs {${Object.keys(CLIENTS).join(",")}} API_URL < config.json`);
  process.exit(2);
}
const config = JSON.parse(readFileSync(0, "utf8"));
const { connect, observed } = await CLIENTS[name]();
try {
  const result = await run((token) => connect(apiUrl, token), config);
  emit({ result: { ...result, ...(observed ? { observed: observed() } : {}) } });
  process.exit(0);
} catch (error) {
  console.error(error?.stack ?? JSON.stringify(error));
  process.exit(1);
}
