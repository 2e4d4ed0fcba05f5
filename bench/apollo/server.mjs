// The benchmark's Apollo Server 5 peer: the standard query as Apollo's, the AWS SDK's and
// better-sqlite3's docs show it. One Personalize client for the process's life, one read-only
// catalog connection, a DataLoader per request (one SELECT … WHERE id IN (…) per query).
//
// Environment: PORT, BENCH_ENDPOINT_URL, BENCH_CAMPAIGN_ARN, BENCH_CATALOG_PATH; with
// BENCH_STATS_PORT, GET http://127.0.0.1:$BENCH_STATS_PORT/_bench/stats counts the GraphQL
// requests and the SQL statements the catalog ran (better-sqlite3's `verbose` hook).
import http from "node:http";

import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import {
  GetRecommendationsCommand,
  PersonalizeRuntimeClient,
} from "@aws-sdk/client-personalize-runtime";
import Database from "better-sqlite3";
import DataLoader from "dataloader";

const env = process.env;
const stats = { queries: 0, queries_in_flight: 0, catalog_statements: 0 };
const counting = Boolean(env.BENCH_STATS_PORT);

const typeDefs = `#graphql
  type Item {
    id: ID!
    title: String
    description: String
    imageUrl: String
    price: Float
    category: String
  }
  type RecommendedItem {
    itemId: ID!
    score: Float
    item: Item
  }
  type RecommendationList {
    recommendationId: String
    items: [RecommendedItem!]!
  }
  type Query {
    recommendations(userId: ID!, numResults: Int! = 25): RecommendationList!
  }
`;

const personalize = new PersonalizeRuntimeClient({
  region: "us-east-1",
  endpoint: env.BENCH_ENDPOINT_URL,
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

const db = new Database(env.BENCH_CATALOG_PATH, {
  readonly: true,
  verbose: counting ? () => (stats.catalog_statements += 1) : undefined,
});
const selects = new Map();

function selectItems(count) {
  let statement = selects.get(count);
  if (statement === undefined) {
    const marks = new Array(count).fill("?").join(",");
    statement = db.prepare(
      "SELECT id, title, description, image_url AS imageUrl, price, category " +
        `FROM items WHERE id IN (${marks})`,
    );
    selects.set(count, statement);
  }
  return statement;
}

async function loadItems(ids) {
  const found = new Map(selectItems(ids.length).all(ids).map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
}

const resolvers = {
  Query: {
    async recommendations(_, { userId, numResults }) {
      const answer = await personalize.send(
        new GetRecommendationsCommand({ campaignArn: env.BENCH_CAMPAIGN_ARN, userId, numResults }),
      );
      return { recommendationId: answer.recommendationId, items: answer.itemList ?? [] };
    },
  },
  RecommendedItem: {
    item: (entry, _, { items }) => items.load(entry.itemId),
  },
};

const plugins = counting
  ? [
      {
        async requestDidStart() {
          stats.queries += 1;
          stats.queries_in_flight += 1;
          return {
            async willSendResponse() {
              stats.queries_in_flight -= 1;
            },
          };
        },
      },
    ]
  : [];

const server = new ApolloServer({ typeDefs, resolvers, plugins });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(env.PORT) },
  context: async () => ({ items: new DataLoader(loadItems) }),
});

if (counting) {
  http
    .createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ ...stats, rss_bytes: process.memoryUsage.rss() }));
    })
    .listen(Number(env.BENCH_STATS_PORT), "127.0.0.1");
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server.stop();
    process.exit(0);
  });
}
console.log(JSON.stringify({ url }));
