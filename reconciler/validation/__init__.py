"""The schemas and checking documents against them: every problem of every file, located."""
