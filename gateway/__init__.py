"""The service around the GraphQL schema: settings, app, Personalize and catalog adapters, CLI."""
