// Runs one GraphQL operation with the graphql-sse client (distinct connections mode)
// against the URL given as the first argument. The request comes as one JSON object on
// standard input: {query, variables, operationName, extensions, headers, disposeAfter}.
// Prints one JSON line per happening, for the test to follow:
//   {"connected": true}        the event stream was accepted
//   {"next": <result>}         a result (data and/or errors)
//   {"complete": true}         the server completed the stream
//   {"disposed": true}         the client closed it after `disposeAfter` results
//   {"error": {...}}           the client reported an error (name, message, HTTP status, body)
import { createClient, NetworkError } from "graphql-sse";

const url = process.argv[2];
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { headers = {}, disposeAfter = null, ...request } = JSON.parse(input);

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = createClient({ url, headers, singleConnection: false, retryAttempts: 0 });

await new Promise((resolve) => {
  let seen = 0;
  const dispose = client.subscribe(
    request,
    {
      next(result) {
        say({ next: result });
        seen += 1;
        if (disposeAfter !== null && seen >= disposeAfter) {
          dispose();
          say({ disposed: true });
          resolve();
        }
      },
      complete() {
        say({ complete: true });
        resolve();
      },
      async error(error) {
        const line = { name: error?.name ?? null, message: String(error?.message ?? error) };
        if (error instanceof NetworkError && error.response) {
          line.status = error.response.status;
          line.body = await error.response.text();
        }
        say({ error: line });
        resolve();
      },
    },
    { connected: () => say({ connected: true }) },
  );
});
client.dispose();
