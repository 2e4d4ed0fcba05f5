// Another team's subgraph, for the federation tests: it owns `User { id name }` and
// `Item.inStock`, and lists featured items. Usage: node users.mjs DATA.json, where DATA.json is
// {"users": {"<id>": "<name>"}, "featuredItems": ["<item id>"], "inStock": ["<item id>"]}.
import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import { announce, exitWithParent, logger } from "./process.mjs";

const data = JSON.parse(readFileSync(process.argv[2], "utf8"));
const inStock = new Set(data.inStock);

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key"])

  type Query {
    user(id: ID!): User
    featuredItems: [Item!]!
  }

  type User @key(fields: "id") {
    id: ID!
    name: String!
  }

  type Item @key(fields: "id") {
    id: ID!
    inStock: Boolean!
  }
`);

const user = (id) => (id in data.users ? { id, name: data.users[id] } : null);

const resolvers = {
  Query: {
    user: (_, { id }) => user(id),
    featuredItems: () => data.featuredItems.map((id) => ({ id })),
  },
  User: {
    __resolveReference: ({ id }) => user(id),
  },
  Item: {
    __resolveReference: ({ id }) => ({ id }),
    inStock: ({ id }) => inStock.has(id),
  },
};

const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }), logger });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
exitWithParent(() => server.stop());
announce(url);
