// graphql-ws, the reference graphql-transport-ws client: every operation over the socket.
import { createClient } from "graphql-ws";
import { BrowserLikeWebSocket, wsUrl } from "./browser_websocket.mjs";

export function wsClient(apiUrl, token) {
  return createClient({
    url: wsUrl(apiUrl),
    webSocketImpl: BrowserLikeWebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
}

export async function connect(apiUrl, token) {
  const client = wsClient(apiUrl, token);
  const once = (query, variables) =>
    new Promise((resolve, reject) => {
      let result;
      client.subscribe({ query, variables }, {
        next: (value) => (result = value),
        error: reject,
        complete: () => (result?.errors ? reject(result.errors) : resolve(result?.data)),
      });
    });
  return {
    query: once,
    mutate: once,
    subscribe: (query, variables, sink) =>
      client.subscribe({ query, variables }, {
        next: (value) => (value.errors ? sink.error(value.errors) : sink.next(value.data)),
        error: sink.error,
        complete: sink.complete,
      }),
    close: () => client.dispose(),
  };
}
