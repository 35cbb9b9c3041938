"""Tests of the Functions triggers, invoked through the registered function app."""
