"""The API key authorizer: prefixed, checksummed keys; only their SHA-256 is stored (DynamoDB)."""
