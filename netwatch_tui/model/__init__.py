"""The pure model: snapshots, accounting, formatting. No Textual, no BCC."""
