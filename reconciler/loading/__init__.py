"""Reading desired-state files: discovery, the YAML loader that keeps file:line for every value, and environments."""
