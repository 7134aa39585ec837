"""A faithful simulator of Immuta's Integrations API (contract: shared/immuta-integrations-api.md)."""
