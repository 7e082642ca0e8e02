// The `ws` package's WebSocket as a browser's behaves: a binary frame arrives as a Blob
// (browsers' default binaryType), not as a Node Buffer that JSON.parse would still read.
// So a server that sent its messages as binary frames fails here as it does in browsers.
import WebSocket from "ws";

export class BrowserLikeWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.binaryType = "blob";
  }
}

// Node 20 has no global WebSocket (browsers do, and Apollo's GraphQLWsLink reads
// `WebSocket.CLOSED` from it).
globalThis.WebSocket ??= BrowserLikeWebSocket;

export function wsUrl(apiUrl) {
  return apiUrl.replace(/^http/, "ws") + "/graphql";
}
