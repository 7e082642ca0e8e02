// Composes subgraphs into a supergraph as Apollo's tooling does (@apollo/composition)
// and prints one JSON object: {"errors": [{code, message}]} when composition fails,
// {"supergraphSdl": "...", "hints": [...]} when it succeeds (exit status 1 and 0).
// Arguments: NAME=PATH for each subgraph, PATH holding its SDL.
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const services = process.argv.slice(2).map((argument) => {
  const separator = argument.indexOf("=");
  const name = argument.slice(0, separator);
  const sdl = readFileSync(argument.slice(separator + 1), "utf8");
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(sdl) };
});
const result = composeServices(services);
const output = result.errors
  ? {
      errors: result.errors.map((error) => ({
        code: error.extensions?.code ?? null,
        message: error.message,
      })),
    }
  : { supergraphSdl: result.supergraphSdl, hints: result.hints.map((hint) => hint.toString()) };
process.stdout.write(JSON.stringify(output) + "\n");
process.exitCode = result.errors ? 1 : 0;
