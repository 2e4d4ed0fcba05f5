"""The HTTP side: the app factory, the GraphQL view, and one module per middleware."""
