// A small GraphQL client that speaks Apollo's Automatic Persisted Queries, as Apollo Client's
// PersistedQueryLink does with useGETForHashedQueries: a query goes first as a GET carrying only
// its SHA-256, and with its text only when the gateway does not know the hash yet.

const ENDPOINT = "/graphql";
const hashes = new Map();

async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function hashOf(query) {
  if (!hashes.has(query)) hashes.set(query, await sha256(query));
  return hashes.get(query);
}

function operationName(query) {
  const match = /^\s*(?:query|mutation)\s+(\w+)/.exec(query);
  return match ? match[1] : undefined;
}

function notFound(body) {
  return (body.errors || []).some(
    (error) => error.extensions && error.extensions.code === "PERSISTED_QUERY_NOT_FOUND",
  );
}

async function send(response) {
  const body = await response.json();
  return body;
}

/** Runs a query; returns `{data, errors}` as the gateway answered. */
export async function query(text, variables = {}) {
  const extensions = { persistedQuery: { version: 1, sha256Hash: await hashOf(text) } };
  const params = new URLSearchParams({
    variables: JSON.stringify(variables),
    extensions: JSON.stringify(extensions),
  });
  const name = operationName(text);
  if (name) params.set("operationName", name);
  let body = await send(await fetch(`${ENDPOINT}?${params}`, { headers: { accept: "application/json" } }));
  if (notFound(body)) {
    body = await send(
      await fetch(ENDPOINT, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: text, variables, operationName: name, extensions }),
      }),
    );
  }
  return body;
}

/** Runs a mutation: always a POST, as browsers must not send mutations over GET. */
export async function mutate(text, variables = {}) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: text, variables, operationName: operationName(text) }),
  });
  return send(response);
}
