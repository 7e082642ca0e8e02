"""Background jobs (arq): the worker's settings and thin job functions over services."""
