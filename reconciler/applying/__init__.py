"""Carrying out a Plan: writes, status polling and verification that everything settled."""
