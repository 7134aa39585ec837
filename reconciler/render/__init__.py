"""Renderers: turn values (problems, plans, drift reports) into text, JSON or Markdown. Never print."""
