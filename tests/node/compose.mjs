// Composes subgraph SDLs into a supergraph with Apollo's own composition, as `rover supergraph
// compose` and Apollo Gateway do. Usage: node compose.mjs SUBGRAPHS.json, where the file holds
// [{"name": "...", "sdl": "..."}]. Prints {"errors": [messages], "hints": [messages]}.
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const subgraphs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = composeServices(
  subgraphs.map(({ name, sdl }) => ({ name, url: `http://${name}.invalid/graphql`, typeDefs: parse(sdl) })),
);
process.stdout.write(
  JSON.stringify({
    errors: (result.errors ?? []).map((error) => error.message),
    hints: (result.hints ?? []).map((hint) => hint.toString()),
  }) + "\n",
);
