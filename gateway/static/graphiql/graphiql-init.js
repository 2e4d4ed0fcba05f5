// Mounts GraphiQL on #graphiql. A file rather than an inline <script> so that
// the page's Content-Security-Policy can allow scripts from 'self' only.
(function () {
  "use strict";

  // Radix UI (inside GraphiQL) adds a <style> element while a dialog is open and
  // gives it the nonce found in this global; the page's CSP allows that nonce.
  window.__webpack_nonce__ = document.currentScript.nonce;

  var container = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({
    // The page is served by the GraphQL endpoint itself (GET with Accept: text/html).
    url: window.location.origin + window.location.pathname,
  });

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: container.dataset.defaultQuery,
      // A shared link (/graphql?query=…&variables=…) opens with its query and variables.
      query: container.dataset.query,
      variables: container.dataset.variables,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
