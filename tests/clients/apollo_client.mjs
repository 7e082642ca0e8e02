// Apollo Client 3 as a web app sets it up: queries and mutations over HttpLink behind
// automatic persisted queries (hashed queries by GET), subscriptions over GraphQLWsLink,
// an InMemoryCache, and client awareness (the apollographql-client-* headers).
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions/index.js";
import { getMainDefinition } from "@apollo/client/utilities/index.js";
import { wsClient } from "./graphql_ws_client.mjs";

// Every HTTP exchange, so the test can see the persisted-query round trips.
const exchanges = [];
export const observed = () => ({ http: exchanges });

async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  const parsed = new URL(url);
  const body = init?.body ? JSON.parse(init.body) : null;
  exchanges.push({
    method: init?.method ?? "GET",
    operationName: parsed.searchParams.get("operationName") ?? body?.operationName ?? null,
    sentQuery: parsed.searchParams.has("query") || typeof body?.query === "string",
    status: response.status,
    clientName: new Headers(init?.headers).get("apollographql-client-name"),
  });
  return response;
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

export async function connect(apiUrl, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const http = createPersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri: `${apiUrl}/graphql`, headers, fetch: recordingFetch }),
  );
  const ws = wsClient(apiUrl, token);
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(ws),
    http,
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache(),
    clientAwareness: { name: "autobroker-client-tests", version: "1.0.0" },
  });
  const data = (result) => {
    if (result.errors?.length) throw result.errors;
    return result.data;
  };
  return {
    // Twice each: the second run must be a persisted-query hit by GET.
    query: async (query, variables) => {
      const document = gql(query);
      await client.query({ query: document, variables, fetchPolicy: "network-only" });
      return data(await client.query({ query: document, variables, fetchPolicy: "network-only" }));
    },
    mutate: async (mutation, variables) => data(await client.mutate({ mutation: gql(mutation), variables })),
    subscribe: (query, variables, sink) => {
      const subscription = client.subscribe({ query: gql(query), variables }).subscribe({
        next: (result) => (result.errors?.length ? sink.error(result.errors) : sink.next(result.data)),
        error: sink.error,
        complete: sink.complete,
      });
      return () => subscription.unsubscribe();
    },
    close: () => {
      client.stop();
      ws.dispose();
    },
  };
}
