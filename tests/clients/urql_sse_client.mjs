// urql with no WebSocket at all: queries, mutations and subscriptions by fetch, the
// subscriptions streamed as Server-Sent Events (fetchSubscriptions), as urql's
// documentation sets it up for a server that speaks GraphQL over SSE.
import { Client, cacheExchange, fetchExchange } from "@urql/core";
import { onEnd, pipe, subscribe } from "wonka";

export async function connect(apiUrl, token) {
  const client = new Client({
    url: `${apiUrl}/graphql`,
    fetchOptions: () => ({ headers: token ? { Authorization: `Bearer ${token}` } : {} }),
    fetchSubscriptions: true,
    requestPolicy: "network-only",
    exchanges: [cacheExchange, fetchExchange],
  });
  const data = (result) => {
    if (result.error) throw result.error;
    return result.data;
  };
  return {
    query: async (query, variables) => data(await client.query(query, variables).toPromise()),
    mutate: async (mutation, variables) => data(await client.mutation(mutation, variables).toPromise()),
    subscribe: (query, variables, sink) => {
      let failed = false;
      const { unsubscribe } = pipe(
        client.subscription(query, variables),
        onEnd(() => failed || sink.complete()),
        subscribe((result) => {
          if (result.error) {
            failed = true;
            return sink.error(result.error);
          }
          // urql repeats the last result with hasNext: false when the stream ends.
          if (result.hasNext) sink.next(result.data);
        }),
      );
      return unsubscribe;
    },
    close: () => {},
  };
}
