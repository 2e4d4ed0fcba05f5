// Apollo Client with its persisted-queries link sending hashed queries over GET, as an SPA
// would. Usage: node apollo-client.mjs GRAPHQL_URL USER_ID. Runs one query twice and prints
// {"results": [data, data], "exchanges": [every HTTP request and its answer]}.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [uri, userId] = process.argv.slice(2);
const exchanges = [];

async function recordingFetch(input, init = {}) {
  const response = await fetch(input, init);
  const url = new URL(String(input));
  exchanges.push({
    method: init.method ?? "GET",
    params: Object.fromEntries(url.searchParams),
    body: init.body ? JSON.parse(init.body) : null,
    status: response.status,
    cacheControl: response.headers.get("cache-control"),
    etag: response.headers.get("etag"),
  });
  return response;
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const client = new ApolloClient({
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri, fetch: recordingFetch }),
  ),
  cache: new InMemoryCache(),
});
const query = gql`
  query Recommendations($userId: ID!) {
    recommendations(userId: $userId, numResults: 3) {
      items { itemId item { title } }
    }
  }
`;
const results = [];
for (let round = 0; round < 2; round += 1) {
  const { data } = await client.query({ query, variables: { userId }, fetchPolicy: "network-only" });
  results.push(data);
}
process.stdout.write(JSON.stringify({ results, exchanges }) + "\n");
