"""finagent core: settings, database, LLM client, embedded vLLM launcher and CLI."""
