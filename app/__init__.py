"""The application layer: the HTTP API, the conversation and approval services, the runtime that wires
the real parts together, and the `finagent` command."""
