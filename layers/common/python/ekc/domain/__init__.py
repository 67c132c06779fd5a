"""Pure rules of the domain: no storage, no clock, no channels."""
