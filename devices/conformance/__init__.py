"""Conformance kit: run the documented behaviour of docs/protocols/ against a vendor's device."""
