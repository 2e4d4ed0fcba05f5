// Apollo Gateway composing subgraphs with IntrospectAndCompose, for the federation tests.
// Usage: node supergraph.mjs '[{"name": "personalize", "url": "http://127.0.0.1:PORT/graphql"}, ...]'
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { announce, exitWithParent, logger } from "./process.mjs";

const subgraphs = JSON.parse(process.argv[2]);
const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({ subgraphs }),
  logger,
});
const server = new ApolloServer({ gateway, logger });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
exitWithParent(() => server.stop());
announce(url);
