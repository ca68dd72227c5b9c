# History is a read model over generation tasks: it has no tables of its own.
