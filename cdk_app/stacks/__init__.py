"""Stacks: composition of components only; stateful and stateless resources kept apart."""
