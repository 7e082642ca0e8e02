// subscriptions-transport-ws, the legacy graphql-ws protocol's client (Apollo's former
// WebSocketLink): every operation over the socket.
import subscriptions from "subscriptions-transport-ws";
import { BrowserLikeWebSocket, wsUrl } from "./browser_websocket.mjs";

const { SubscriptionClient } = subscriptions;

export async function connect(apiUrl, token) {
  const client = new SubscriptionClient(
    wsUrl(apiUrl),
    { reconnect: false, connectionParams: token ? { Authorization: `Bearer ${token}` } : {} },
    BrowserLikeWebSocket,
  );
  const subscribe = (query, variables, sink) => {
    const subscription = client.request({ query, variables }).subscribe({
      next: (value) => (value.errors ? sink.error(value.errors) : sink.next(value.data)),
      error: sink.error,
      complete: sink.complete,
    });
    return () => subscription.unsubscribe();
  };
  const once = (query, variables) =>
    new Promise((resolve, reject) => {
      let result;
      subscribe(query, variables, {
        next: (data) => (result = data),
        error: reject,
        complete: () => resolve(result),
      });
    });
  return { query: once, mutate: once, subscribe, close: () => client.close() };
}
