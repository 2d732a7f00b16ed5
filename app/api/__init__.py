"""HTTP layer: thin routes over app.conversations and app.approvals."""
