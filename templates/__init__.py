"""Templates of the gaitgen code generator (package data; plain Jinja files a user can read)."""
