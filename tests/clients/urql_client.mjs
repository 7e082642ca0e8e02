// urql: queries and mutations by fetch, subscriptions through its subscriptionExchange
// over graphql-ws, as urql's documentation sets it up.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { onEnd, pipe, subscribe } from "wonka";
import { wsClient } from "./graphql_ws_client.mjs";

export async function connect(apiUrl, token) {
  const ws = wsClient(apiUrl, token);
  const client = new Client({
    url: `${apiUrl}/graphql`,
    fetchOptions: () => ({ headers: token ? { Authorization: `Bearer ${token}` } : {} }),
    requestPolicy: "network-only",
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(input, sink) };
            },
          };
        },
      }),
    ],
  });
  const data = (result) => {
    if (result.error) throw result.error;
    return result.data;
  };
  return {
    query: async (query, variables) => data(await client.query(query, variables).toPromise()),
    mutate: async (mutation, variables) => data(await client.mutation(mutation, variables).toPromise()),
    subscribe: (query, variables, sink) => {
      const { unsubscribe } = pipe(
        client.subscription(query, variables),
        onEnd(() => sink.complete()),
        subscribe((result) => {
          if (result.error) return sink.error(result.error);
          // urql ends a subscription's results by repeating the last one with
          // hasNext: false when the server completes; it is no new event.
          if (result.hasNext) sink.next(result.data);
        }),
      );
      return unsubscribe;
    },
    close: () => ws.dispose(),
  };
}
