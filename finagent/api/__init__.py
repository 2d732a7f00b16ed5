"""HTTP layer: thin routes over finagent.conversations and finagent.approvals."""
