"""Local mode: moto seeding, the local PKI, the stack and its walkthrough (docs/local.md)."""
