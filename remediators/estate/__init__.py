"""Typed views over ARM payloads, the estate they come from, and how it is collected."""
