// One buyer's session, the same for every client library: sign in, read, order, then
// follow the order live until its stream completes. A client adapter offers
//   query(document, variables) and mutate(document, variables): the `data`, or throws;
//   subscribe(document, variables, {next, error, complete}): returns a stop function;
//   close().
// Lines on stdout are JSON: {"ready": <order id>} once the history is replayed (the test
// then moves the order from outside), and {"result": {...}} at the end.

export const LOGIN = `mutation SignIn($input: LoginInput!) {
  login(input: $input) { accessToken userErrors { field code message } }
}`;
export const ME = `query Me { me { id email role } }`;
export const VEHICLE = `query Vehicle($id: ID!) {
  vehicle(id: $id) { id make model status price { amount currency } }
}`;
export const CREATE_ORDER = `mutation Order($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id status } userErrors { field code message } }
}`;
export const CANCEL_ORDER = `mutation Cancel($input: CancelOrderInput!) {
  cancelOrder(input: $input) { order { id status } userErrors { field code message } }
}`;
export const STATUS_CHANGED = `subscription StatusChanged($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, afterSequence: $after) {
    sequence from to actor reason order { id status }
  }
}`;

const WAIT_MS = 30_000;

function bounded(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${WAIT_MS} ms: ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function emit(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

// What an error callback received, as the codes of its GraphQL errors.
export function errorCodes(error) {
  const list = Array.isArray(error)
    ? error
    : error?.graphQLErrors ?? error?.errors ?? (error?.extensions ? [error] : []);
  if (list.length === 0) throw new Error(`not a GraphQL error: ${String(error)}`);
  return list.map((e) => e.extensions?.code);
}

// The first error of a subscription that must be refused (it never yields an event).
function refusal(client, variables) {
  return bounded(
    new Promise((resolve, reject) => {
      client.subscribe(STATUS_CHANGED, variables, {
        next: (value) => reject(new Error(`refused subscription yielded ${JSON.stringify(value)}`)),
        error: (error) => resolve(errorCodes(error)),
        complete: () => reject(new Error("refused subscription completed without an error")),
      });
    }),
    "the refused subscription",
  );
}

// Events 2 and 3 replayed, 4 and 5 made by the test, 6 by this client's own cancelOrder.
function follow(client, orderId) {
  const events = [];
  let cancelled = null;
  return bounded(
    new Promise((resolve, reject) => {
      client.subscribe(STATUS_CHANGED, { id: orderId, after: 1 }, {
        next(data) {
          const event = data.orderStatusChanged;
          events.push(event);
          if (event.sequence === 3) emit({ ready: orderId });
          if (event.sequence === 5) {
            cancelled = client
              .mutate(CANCEL_ORDER, { input: { orderId, reason: "changed my mind" } })
              .catch(reject);
          }
        },
        error: (error) => reject(new Error(`subscription failed: ${JSON.stringify(error)}`)),
        complete: async () => resolve({ events, cancelled: await cancelled }),
      });
    }),
    "the live order stream",
  );
}

export async function run(connect, config) {
  // Signed in through an anonymous client, then a client carrying the token.
  const anonymous = await connect(null);
  const login = await anonymous.mutate(LOGIN, {
    input: { email: config.email, password: config.password },
  });
  anonymous.close();
  const token = login.login.accessToken;
  if (!token) throw new Error(`sign-in failed: ${JSON.stringify(login)}`);

  const client = await connect(token);
  try {
    const me = await client.query(ME, {});
    const vehicle = await client.query(VEHICLE, { id: config.vehicleId });
    const created = await client.mutate(CREATE_ORDER, {
      input: { vehicleId: config.vehicleId, destinationCountry: "DE", reserve: true },
    });
    const refused = await refusal(client, { id: config.foreignOrderId, after: 0 });
    const followed = await follow(client, created.createOrder.order.id);
    return { me: me.me, vehicle: vehicle.vehicle, created: created.createOrder, refused, ...followed };
  } finally {
    client.close();
  }
}
