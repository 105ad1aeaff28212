"""Moving the owner's files: the only room that renames, copies or removes them, journaled."""
