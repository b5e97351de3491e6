"""The pipe-network model: one category's segments and points as a graph, as of an instant."""
