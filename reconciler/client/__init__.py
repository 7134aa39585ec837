"""The Immuta Integrations API client: settings, transport, retries, create recovery and redaction."""
