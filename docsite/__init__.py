"""Tools that build the docs site (MkDocs hooks) and that the tests share with it."""
